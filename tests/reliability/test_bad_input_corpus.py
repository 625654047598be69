"""Every case of the bad-input corpus (tests/data/bad/cases.csv) through the real scoring path.

``score_source`` on local files for every case, and the score handler on moto's server for the
cases marked ``handler``. Each run must give the outcome in the table, name the file (and the
column/row where the table says so), leave the input byte-identical (and, on S3, its version
unchanged) and leave nothing partial under ``scored/``.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from reliability_kit import (
    MODEL,
    Ctx,
    corpus_module,
    local_model,
    make_stack,
    model_config,
    register_champion,
)

from scorewatch.core.errors import InputRejectedError
from scorewatch.scoring.scorer import score_source

gen = corpus_module()
CASES = gen.load_cases()
BY_ID = {c.id: c for c in CASES}
HANDLER_CASES = [c for c in CASES if c.handler]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return gen.write_corpus(tmp_path_factory.mktemp("bad"), CASES)


@pytest.fixture(scope="module")
def model():
    return local_model()


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_corpus_has_forty_cases_with_unique_ids_and_a_builder_each():
    ids = [c.id for c in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    assert set(ids) == set(gen.BUILDERS)
    assert {c.expected for c in CASES} == {"accepted", "rows_rejected", "file_rejected"}
    for c in CASES:
        assert (c.expected == "file_rejected") == bool(c.reason), c.id
        assert c.rows_rejected == len(c.rejected_rows), c.id


def test_corpus_generation_is_deterministic(tmp_path):
    a = gen.write_corpus(tmp_path / "a", CASES)
    b = gen.write_corpus(tmp_path / "b", CASES)
    assert all(a[i].read_bytes() == b[i].read_bytes() for i in a)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_score_source_gives_the_tabled_outcome_and_leaves_the_input_alone(case, corpus, model):
    path = corpus[case.id]
    out_dir = path.parent / "scored"
    out_dir.mkdir(exist_ok=True)
    output_uri = str(out_dir / "batch.parquet")
    before = _digest(path)

    def run():
        return score_source(
            str(path),
            model=model,
            output_uri=output_uri,
            batch_id="corpus",
            chunk_rows=4,
            max_reject_fraction=0.5,
            scored_at=gen_now(),
            max_decompressed_bytes=gen.BOMB_CAP_BYTES,  # 1 MiB: the bombs trip it quickly
        )

    if case.expected == "file_rejected":
        with pytest.raises(InputRejectedError) as info:
            run()
        err = info.value
        assert err.reason == case.reason, str(err)
        assert str(path) in str(err) and err.source_uri == str(path)
        for text in case.message_contains:
            assert text in str(err), f"{text!r} not in {err}"
        assert os.listdir(out_dir) == [], "a rejected input left output (or a temp file) behind"
    else:
        result = run()
        assert result.rows_in == case.rows_in
        assert result.rows_rejected == case.rows_rejected
        assert result.rows_scored + result.rows_rejected == result.rows_in
        assert [(r.row, r.column) for r in result.rejected] == list(case.rejected_rows)
        for r in result.rejected:
            assert any(text in r.reason for text in case.message_contains), r
        assert os.listdir(out_dir) == ["batch.parquet"]
        scored = pq.read_table(output_uri)
        assert scored.num_rows == result.rows_scored
        assert set(scored.column("source_uri").to_pylist()) == {str(path)}
    assert _digest(path) == before, "the input file was modified"


def gen_now():
    from reliability_kit import NOW

    return NOW


def test_formula_and_markup_values_reach_the_parquet_output_verbatim(corpus, model):
    # Parquet is data, not a spreadsheet: ids are kept exactly, never silently rewritten.
    path = corpus["formula_strings"]
    out = path.parent / "verbatim.parquet"
    score_source(
        str(path),
        model=model,
        output_uri=str(out),
        batch_id="f",
        chunk_rows=100,
        max_reject_fraction=0.0,
        scored_at=gen_now(),
    )
    ids = pq.read_table(out).column("customer_id").to_pylist()
    assert ids[0] == gen.FORMULA and ids[2] == "@SUM(A1:A9)"


def test_duplicate_ids_are_all_scored_not_deduplicated(corpus, model):
    path = corpus["duplicate_ids"]
    out = path.parent / "dupes.parquet"
    score_source(
        str(path),
        model=model,
        output_uri=str(out),
        batch_id="d",
        chunk_rows=3,
        max_reject_fraction=0.0,
        scored_at=gen_now(),
    )
    counts = Counter(pq.read_table(out).column("customer_id").to_pylist())
    assert counts["c0005"] == 3 and sum(counts.values()) == 10


def test_embedded_newline_id_survives_with_its_newline(corpus, model):
    path = corpus["embedded_newline_in_id"]
    out = path.parent / "nl.parquet"
    score_source(
        str(path),
        model=model,
        output_uri=str(out),
        batch_id="n",
        chunk_rows=4,
        max_reject_fraction=0.0,
        scored_at=gen_now(),
    )
    assert "c0005\nsecond line" in pq.read_table(out).column("customer_id").to_pylist()


# ------------------------------------------------------------------------ the score handler on moto
@pytest.fixture
def stack(resources, monkeypatch):
    # max_input_bytes 8 MiB: the bomb's inflation estimate (64 MiB) is over it before a row is read.
    st = make_stack(resources, monkeypatch, models=[model_config(max_input_bytes=8 * 1024 * 1024)])
    st.card = register_champion(resources, baseline=False)
    return st


@pytest.mark.parametrize("case", HANDLER_CASES, ids=[c.id for c in HANDLER_CASES])
def test_score_handler_gives_the_tabled_outcome_on_s3(case, stack):
    from scorewatch.handlers import score

    data = gen.build(case.id)
    put = stack.put(case.key, data)
    out = score.handler(stack.s3_event(case.key, put), Ctx())

    uri = f"s3://{stack.res.data_bucket}/{case.key}"
    assert out["source_uri"] == uri
    events = stack.events()
    if case.handler_expected == "file_rejected":
        assert out["status"] == "rejected" and out["reason"] == case.handler_reason, out
        assert case.key in out["message"]
        if case.handler_reason == case.reason:
            for text in case.message_contains:
                assert text in out["message"], f"{text!r} not in {out['message']}"
        report = stack.read_json(out["report_uri"].split("/", 3)[3])
        assert report["source_uri"] == uri and report["reason"] == case.handler_reason
        assert stack.keys("scored/") == []
        assert [e["detail-type"] for e in events] == ["Batch Rejected"]
    else:
        assert out["status"] == "scored", out
        assert (out["rows_in"], out["rows_rejected"]) == (case.rows_in, case.rows_rejected)
        scored = stack.keys("scored/")
        assert scored == [out["output_uri"].split("/", 3)[3]]
        assert scored[0].startswith(f"scored/model={MODEL}/date=")
        table = stack.read_parquet(scored[0])
        assert len(table) == out["rows_scored"] and set(table["source_uri"]) == {uri}
        if case.rows_rejected:
            rejected = stack.read_parquet(out["rejected_uri"].split("/", 3)[3])
            assert sorted(zip(rejected["row"], rejected["column"], strict=True)) == list(case.rejected_rows)
        assert [e["detail-type"] for e in events] == ["Batch Scored"]
    # the input is never touched: same bytes, same single version
    assert stack.body(case.key) == data
    assert [v["VersionId"] for v in stack.versions(case.key)] == [put["VersionId"]]


def test_readme_corpus_table_is_rendered_from_the_current_cases():
    import importlib.util
    import sys

    from reliability_kit import TESTS

    spec = importlib.util.spec_from_file_location("corpus_table", TESTS.parent / "tools" / "corpus_table.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules["corpus_table"] = tool
    spec.loader.exec_module(tool)
    import csv

    with tool.CASES.open(newline="", encoding="utf-8") as f:
        table = tool.render(list(csv.DictReader(f)))
    doc = tool.DOC.read_text(encoding="utf-8")
    assert f"{tool.BEGIN}\n{table}{tool.END}" in doc, "run: python tools/corpus_table.py"
