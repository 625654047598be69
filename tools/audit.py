"""`make lint`'s dependency audit: pip-audit over the runtime pins in layers/requirements.txt.

Audits exactly the pinned versions the Lambda image installs (``--no-deps --disable-pip``: the
file pins the whole dependency closure, so nothing is resolved or installed). Known
vulnerabilities fail the step. When pip-audit is not installed or its vulnerability service
cannot be reached (offline), it prints why it skipped and exits 0: the audit is best-effort,
the rest of `make lint` still gates.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "layers" / "requirements.txt"
# pip-audit's default vulnerability source: PyPI's JSON API, per release.
SERVICE = "https://pypi.org/pypi/{name}/{version}/json"


def _pip_audit() -> list[str] | None:
    exe = Path(sys.executable).with_name("pip-audit")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("pip-audit")
    return [found] if found else None


def _first_pin() -> tuple[str, str]:
    for raw in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            return name.split("[", 1)[0], version
    raise SystemExit(f"audit: no pinned requirement in {REQUIREMENTS}")


def _service_reachable(timeout: float = 10.0) -> str | None:
    """None when the vulnerability source answers for a pinned release, else why it does not.

    Some networks (a registry mirror, this build machine) serve pip's simple index but not the
    per-release JSON API; pip-audit would then "audit" nothing and still pass.
    """
    name, version = _first_pin()
    url = SERVICE.format(name=name, version=version)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - fixed https URL
            resp.read(1)
    except urllib.error.HTTPError as exc:
        return f"{url} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url}: {getattr(exc, 'reason', exc)}"
    return None


def main() -> int:
    cmd = _pip_audit()
    if cmd is None:
        print("audit: SKIPPED - pip-audit is not installed (pip install -e '.[dev]' provides it)")
        return 0
    problem = _service_reachable()
    if problem is not None:
        print(f"audit: SKIPPED - the vulnerability database (PyPI) is unreachable: {problem}")
        return 0
    args = [
        *cmd,
        "--requirement",
        str(REQUIREMENTS),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
    ]
    print("audit:", " ".join(args[1:]), flush=True)
    result = subprocess.run(args, check=False)  # noqa: S603 - fixed argv, no shell
    if result.returncode != 0:
        print("audit: FAILED - pip-audit reports known vulnerabilities (or could not audit, see above)")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
