"""Synthesizes the CDK app the way the CDK CLI does, without the CLI (no Node CLI, no Docker).

The app command and context come from ``cdk.json``; context overrides (e.g. the model config
path) are merged on top; the output directory's ``manifest.json`` names the stack templates.
Synthesis takes ~15-20 s (jsii), so results are cached by a hash of the app's sources and inputs
(infra, the runtime package, layers/, cdk.json and the model config's content).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from scorewatch_infra.local.template import TemplateError

REPO_ROOT = Path(__file__).resolve().parents[3]


def _fingerprint(root: Path, context: dict[str, Any], extra_files: list[Path]) -> str:
    # Context values naming files (the model config) count by content, not by path, so the same
    # configuration written to another temporary file reuses the cached synthesis.
    stable = {k: ("<file>" if isinstance(v, str) and (root / v).is_file() else v) for k, v in context.items()}
    h = hashlib.sha256(json.dumps(stable, sort_keys=True).encode())
    # Everything the app reads: infra, the runtime package it imports (contract, config, and the
    # image asset's content hash covers the whole source tree), the layer definition, cdk.json.
    files = [
        *sorted((root / "infra").rglob("*.py")),
        *sorted((root / "functions" / "scorewatch").rglob("*.py")),
    ]
    files += [*sorted((root / "layers").glob("*")), root / "cdk.json", *extra_files]
    for f in files:
        if f.is_file() and "/local/" not in str(f):
            if f.is_relative_to(root):
                h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def synth(
    *,
    root: Path = REPO_ROOT,
    context: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
    timeout: float = 300,
) -> tuple[dict[str, dict[str, Any]], Path]:
    """Synthesize the app in ``root``; return ({stack name: template}, output directory)."""
    cdk_json = root / "cdk.json"
    if not cdk_json.is_file():
        raise TemplateError(f"no cdk.json in {root}: cannot synthesize the CDK app")
    cfg = json.loads(cdk_json.read_text(encoding="utf-8"))
    merged = {**cfg.get("context", {}), **(context or {})}
    extra = [root / v for v in merged.values() if isinstance(v, str) and (root / v).is_file()]
    cache_dir = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scorewatch"
    out = cache_dir / f"synth-{_fingerprint(root, merged, extra)}"
    if not (out / "manifest.json").is_file():
        # Synthesize into a private directory and rename it into place: two processes (test
        # workers, two local clouds) missing the cache at once must not write into one directory
        # (measured: CDK's asset staging then fails with EEXIST).
        cache_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{out.name}.", dir=cache_dir))
        try:
            _run_app(cfg, root, merged, work, timeout)
            try:
                work.rename(out)  # atomic; fails if another process published first
            except OSError:
                if not (out / "manifest.json").is_file():
                    shutil.rmtree(out, ignore_errors=True)  # a stale partial directory
                    work.rename(out)
        finally:
            shutil.rmtree(work, ignore_errors=True)  # gone already unless another process won
    return read_assembly(out), out


def _run_app(cfg: dict[str, Any], root: Path, context: dict[str, Any], out: Path, timeout: float) -> None:
    argv = shlex.split(cfg["app"])
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable  # the venv running the local cloud
    env = {
        **os.environ,
        "CDK_OUTDIR": str(out),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    proc = subprocess.run(  # noqa: S603 - the app command from the project's own cdk.json
        argv, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise TemplateError(f"CDK synthesis failed ({cfg['app']}):\n{proc.stderr[-4000:]}")


def read_assembly(out: Path) -> dict[str, dict[str, Any]]:
    """Stack name -> template from a cloud assembly directory."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    stacks: dict[str, dict[str, Any]] = {}
    for name, art in manifest.get("artifacts", {}).items():
        if art.get("type") == "aws:cloudformation:stack":
            props = art.get("properties", {})
            stack_name = props.get("stackName", name)
            stacks[stack_name] = json.loads((out / props["templateFile"]).read_text(encoding="utf-8"))
    if not stacks:
        raise TemplateError(f"the cloud assembly in {out} contains no stack")
    return stacks
