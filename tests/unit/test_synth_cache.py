"""The local cloud's synthesis cache under concurrency: processes that miss the cache at once each
synthesize privately and one result is published (CDK staging assets into a shared directory
failed with EEXIST)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from scorewatch_infra.local import synth as synth_mod


def _fake_app(calls: list[Path]):
    def run(cfg: dict[str, Any], root: Path, context: dict[str, Any], out: Path, timeout: float) -> None:
        calls.append(out)
        (out / "asset.abc").mkdir()  # what collided when two runs shared one directory
        time.sleep(0.2)
        (out / "T.template.json").write_text(json.dumps({"Resources": {}}))
        artifacts = {
            "T": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "T.template.json"}}
        }
        (out / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))

    return run


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "cdk.json").write_text(json.dumps({"app": "python app.py", "context": {}}))
    return root


def test_concurrent_misses_publish_one_assembly_and_leave_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(synth_mod, "_run_app", _fake_app(calls))
    root, cache = _root(tmp_path), tmp_path / "cache"
    results: list[Any] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            results.append(synth_mod.synth(root=root, cache_dir=cache))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(calls) == 3 and len(set(calls)) == 3  # each synthesized privately
    outs = {out for _, out in results}
    assert len(outs) == 1 and all(stacks == {"T": {"Resources": {}}} for stacks, _ in results)
    assert [p.name for p in cache.iterdir()] == [next(iter(outs)).name]  # no private dirs left
    # a warm cache does not synthesize again
    synth_mod.synth(root=root, cache_dir=cache)
    assert len(calls) == 3


def test_a_stale_partial_directory_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(synth_mod, "_run_app", _fake_app(calls))
    root, cache = _root(tmp_path), tmp_path / "cache"
    _, out = synth_mod.synth(root=root, cache_dir=cache)
    (out / "manifest.json").unlink()  # as an interrupted synthesis of the old code left it
    stacks, again = synth_mod.synth(root=root, cache_dir=cache)
    assert again == out and stacks == {"T": {"Resources": {}}} and len(calls) == 2
