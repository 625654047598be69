"""Peak memory of the calling process, for every benchmark that reports memory.

``VmHWM`` from ``/proc/self/status`` (the high-water mark of this process image's resident set),
not ``getrusage``'s ``ru_maxrss``: Linux carries the parent's peak across fork + exec, so a worker
started by a driver that already holds a large data set would report the driver's peak as its own.
"""

from __future__ import annotations

import sys


def peak_mib() -> float:
    """This process's peak resident set size in MiB (VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no VmHWM in /proc/self/status on {sys.platform}: peak memory is Linux-only here")


def current_mib() -> float:
    """This process's resident set size now in MiB (VmRSS)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS in /proc/self/status on {sys.platform}")
