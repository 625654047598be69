"""Encoding distinct values once (``scorewatch.scoring.encoding``) must be invisible: the same numbers,
the same sparse structure, the same errors as the model's own encoders, on every configuration
of them that it accepts, and the model object it was given untouched."""

from __future__ import annotations

import pickle
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_fakes import loaded_model
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from scorewatch.core.errors import InputRejectedError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.scoring import encoding
from scorewatch.scoring.scorer import score_source

SEEN = ["a", "b", "c", "d", "e"]
CATS = ["c0", "c1", "c2"]


def _frame(rng: np.random.Generator, n: int, *, unseen: float = 0.0, missing: float = 0.0) -> pd.DataFrame:
    data: dict[str, Any] = {"x": rng.normal(size=n), "y": rng.normal(size=n)}
    data["z"] = np.where(rng.random(n) < 0.5, 0.0, rng.normal(size=n))  # zeros: ragged sparse rows
    for j, name in enumerate(CATS):
        values = rng.choice(SEEN[: 3 + j], size=n).astype(object)
        values[rng.random(n) < unseen] = "zz"
        values[rng.random(n) < missing] = np.nan
        data[name] = values
    return pd.DataFrame(data)


def _target(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["x"] > 0) ^ (frame["c0"] == "a")).astype(int).to_numpy()


ENCODERS = {
    "ordinal_unknown": lambda: OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2
    ),
    "ordinal_infrequent": lambda: OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2, max_categories=3
    ),
    "onehot_sparse": lambda: OneHotEncoder(handle_unknown="ignore"),
    "onehot_dense": lambda: OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    "onehot_drop_first": lambda: OneHotEncoder(drop="first", handle_unknown="ignore"),
    "onehot_infrequent": lambda: OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=40),
    "imputer_then_onehot": lambda: make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
    ),
    "imputer_then_ordinal": lambda: make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    ),
}


def _fitted(kind: str, *, pandas_out: bool = False, sparse_threshold: float = 0.3) -> Pipeline:
    train = _frame(np.random.default_rng(0), 600, missing=0.05)
    pre = ColumnTransformer(
        [("num", StandardScaler(), ["x", "y"]), ("z", "passthrough", ["z"]), ("cat", ENCODERS[kind](), CATS)],
        sparse_threshold=sparse_threshold,
    )
    if pandas_out:
        pre.set_output(transform="pandas")
    return Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=300))]).fit(train, _target(train))


def _same(a: Any, b: Any) -> None:
    if sparse.issparse(a):
        assert sparse.issparse(b) and a.format == b.format and a.dtype == b.dtype and a.shape == b.shape
        a, b = a.tocsr(), b.tocsr()
        a.sort_indices()
        b.sort_indices()
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.data, b.data)
        return
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        return
    assert not sparse.issparse(b) and np.asarray(a).dtype == np.asarray(b).dtype
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # NaN == NaN here


@pytest.fixture(scope="module")
def models() -> dict[str, Pipeline]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # sparse_threshold=1: a sparse output whenever an encoder's is sparse (the CSR stacking)
        return {
            **{kind: _fitted(kind) for kind in ENCODERS},
            **{f"{kind}/sparse": _fitted(kind, sparse_threshold=1.0) for kind in ENCODERS},
        }


@settings(max_examples=80, deadline=None)
@given(
    kind=st.sampled_from(sorted(ENCODERS) + [f"{k}/sparse" for k in sorted(ENCODERS)]),
    seed=st.integers(0, 2**16),
    n=st.integers(encoding.MIN_ROWS, 400),
    unseen=st.sampled_from([0.0, 0.02, 0.3]),
    missing=st.sampled_from([0.0, 0.05, 0.5, 1.0]),
)
def test_same_transform_and_predictions_as_the_model(
    models: dict[str, Pipeline], kind: str, seed: int, n: int, unseen: float, missing: float
) -> None:
    model = models[kind]
    fast, names = encoding.accelerate(model)
    assert names[0] == "pre.cat"
    assert ("pre[sparse stack]" in names) == model[0].sparse_output_
    frame = _frame(np.random.default_rng(seed), n, unseen=unseen, missing=missing)
    frame.index = frame.index + 1000  # a chunk's index does not start at 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown categories under drop/infrequent warn alike
        _same(model[0].transform(frame), fast[0].transform(frame))
        np.testing.assert_array_equal(model.predict_proba(frame), fast.predict_proba(frame))


@st.composite
def _blocks(draw: Any) -> tuple[int, list[Any]]:
    n = draw(st.integers(1, 40))
    blocks: list[Any] = []
    count = draw(st.integers(1, 4))
    for i in range(count):
        width = draw(st.integers(0, 5))
        # a ColumnTransformer stacks sparse when a transformer's output is: at least one CSR
        kind = "csr" if i == count - 1 else draw(st.sampled_from(["dense", "dense_full", "csr"]))
        dtype = draw(st.sampled_from([np.float64, np.float32, np.int64, np.bool_]))
        values = draw(
            st.lists(st.sampled_from([0.0, 1.0, -2.5, np.nan, 3.0]), min_size=n * width, max_size=n * width)
        )
        X = np.array(values, dtype=np.float64).reshape(n, width)
        if kind == "dense_full":
            X[(X == 0) | np.isnan(X)] = 1.0
        if dtype is not np.float64:
            X = np.nan_to_num(X).astype(dtype)
        if kind == "csr":
            M = sparse.csr_matrix(X)
            if draw(st.booleans()) and M.nnz:
                M.data[0] = 0  # an explicit zero: kept by scipy's stacking, and by ours
            blocks.append(M)
        else:
            blocks.append(X)
    return n, blocks


@settings(max_examples=300, deadline=None)
@given(case=_blocks())
def test_sparse_stacking_is_scipys(case: tuple[int, list[Any]]) -> None:
    n, blocks = case
    ours = encoding._stack_sparse(blocks, n_samples=n)
    theirs = sparse.hstack(blocks).tocsr()
    if np.result_type(*(b.dtype for b in blocks)) not in (np.float64, np.float32):
        assert ours is None  # left to scikit-learn's own stacking
        return
    assert ours is not None and ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)


def test_sparse_stacking_leaves_other_inputs_to_scikit_learn() -> None:
    dense = np.ones((3, 2))
    assert encoding._stack_sparse([dense, sparse.csc_matrix(dense)], n_samples=3) is None
    unsorted = sparse.csr_matrix((np.array([1.0, 2.0]), np.array([1, 0]), np.array([0, 2])), shape=(1, 2))
    assert not unsorted.has_canonical_format
    assert encoding._stack_sparse([np.ones((1, 1)), unsorted], n_samples=1) is None
    assert encoding._stack_sparse([np.array([["a"]], dtype=object)], n_samples=1) is None


def test_the_fast_path_runs_on_a_small_sample(models: dict[str, Pipeline], monkeypatch) -> None:
    """A test that only ever compared outputs would pass with the fast path never taken."""
    model = models["onehot_sparse"]
    fast, _ = encoding.accelerate(model)
    wrapper = fast[0].named_transformers_["cat"]
    assert isinstance(wrapper, encoding.DistinctValueEncoder)
    sizes: list[int] = []
    real = wrapper.encoder.transform
    monkeypatch.setattr(wrapper.encoder, "transform", lambda X: sizes.append(len(X)) or real(X))
    frame = _frame(np.random.default_rng(1), 5000, missing=0.1)
    _same(model[0].transform(frame), fast[0].transform(frame))
    assert sizes == [5000, 6]  # the model's own call, then ours: c2's five values and a missing one


def test_pandas_output_keeps_columns_and_index() -> None:
    model = _fitted("ordinal_unknown", pandas_out=True)
    fast, _ = encoding.accelerate(model)
    frame = _frame(np.random.default_rng(2), 300, missing=0.1, unseen=0.1)
    frame.index = pd.RangeIndex(500, 800)
    _same(model[0].transform(frame), fast[0].transform(frame))


def test_encoder_errors_are_the_encoders_own() -> None:
    train = _frame(np.random.default_rng(0), 300)
    model = make_pipeline(OrdinalEncoder(), HistGradientBoostingClassifier(max_iter=5)).fit(
        train[CATS], _target(train)
    )
    fast, names = encoding.accelerate(model)
    assert names == ("ordinalencoder",)
    frame = _frame(np.random.default_rng(3), 200, unseen=0.05)[CATS]
    with pytest.raises(ValueError) as real:
        model.predict_proba(frame)
    with pytest.raises(ValueError) as ours:
        fast.predict_proba(frame)
    assert str(ours.value) == str(real.value)
    assert "Found unknown categories ['zz']" in str(ours.value)


def test_none_and_nan_mixed_stay_apart() -> None:
    """pandas.factorize merges None and NaN; scikit-learn keeps them apart. Shared objects are
    factorized by identity (None and NaN are different objects); values held by distinct objects
    are factorized by value, and then a column mixing None and NaN goes to the encoder."""
    train = pd.DataFrame({"c": np.array(["a", "b", None, np.nan] * 50, dtype=object)}, dtype=object)
    assert train["c"].iloc[2] is None
    enc = OrdinalEncoder().fit(train)
    wrapper = encoding.DistinctValueEncoder(enc, (1,))
    plan = encoding._plan(train, 1)
    assert plan is not None and len(plan[0]) == 4  # 'a', 'b', None, nan: four objects
    _same(enc.transform(train), wrapper.transform(train))
    assert len(enc.categories_[0]) == 4  # 'a', 'b', None, nan: two different missing values
    # every row its own object: text built per row, a new NaN float per row
    fresh = np.array(
        [
            ("a" if i % 4 == 0 else "b") + "!" if i % 4 < 2 else (None if i % 4 == 2 else float("nan"))
            for i in range(200)
        ],
        dtype=object,
    )
    enc = OrdinalEncoder().fit(pd.DataFrame({"c": fresh[:4]}, dtype=object))
    wrapper = encoding.DistinctValueEncoder(enc, (1,))
    per_row = pd.DataFrame({"c": fresh}, dtype=object)
    assert encoding._shared_objects(per_row["c"].to_numpy(), 200) is None
    assert encoding._plan(per_row, 1) is None
    _same(enc.transform(per_row), wrapper.transform(per_row))


def test_shared_objects_are_the_readers_dictionary_codes() -> None:
    """The validated chunk's category objects are shared per distinct value: the pointers give the
    codes, the first row of each and the same encoding as the value path, never merging values."""
    lookup = np.array(["x", "y", "z", np.nan, None], dtype=object)
    codes = np.random.default_rng(7).integers(0, 5, 500)
    values = lookup[codes]
    first, got = encoding._shared_objects(values, 500)
    assert [values[i] is lookup[codes[i]] for i in first] == [True] * len(first)
    assert all(a is b for a, b in zip(values[first][got], values, strict=True))  # each row's own object
    assert len(first) == 5
    enc = OneHotEncoder(handle_unknown="ignore").fit(pd.DataFrame({"c": lookup[:3]}))
    frame = pd.DataFrame({"c": values}, dtype=object)
    _same(enc.transform(frame), encoding.DistinctValueEncoder(enc, (3,)).transform(frame))


def test_high_cardinality_and_tiny_chunks_go_to_the_encoder() -> None:
    ids = pd.DataFrame({"c": [f"v{i}" for i in range(400)]})
    assert encoding._plan(ids, 1) is None  # nearly one value per row: nothing to gain
    assert encoding._plan(ids.head(encoding.MIN_ROWS - 1), 1) is None
    enc = OneHotEncoder(handle_unknown="ignore").fit(ids)
    _same(enc.transform(ids), encoding.DistinctValueEncoder(enc, (400,)).transform(ids))


def test_an_unknown_output_container_goes_to_the_encoder(monkeypatch) -> None:
    """E.g. set_output(transform="polars"): not gathered, the encoder's own result is returned."""
    frame = pd.DataFrame({"c": ["a", "b", "c"] * 100}, dtype=object)
    enc = OrdinalEncoder().fit(frame)
    real = enc.transform
    sizes: list[int] = []
    monkeypatch.setattr(enc, "transform", lambda X: sizes.append(len(X)) or real(X).tolist())
    out = encoding.DistinctValueEncoder(enc, (1,)).transform(frame)
    assert sizes == [3, 300] and out == real(frame).tolist()


def test_numpy_input() -> None:
    rng = np.random.default_rng(4)
    X = rng.choice(np.array(["p", "q", "r"], dtype=object), size=(300, 2))
    X[rng.random((300, 2)) < 0.1] = np.nan
    enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(X)
    fast, _ = encoding.accelerate(make_pipeline(enc))
    _same(enc.transform(X), fast.transform(X))


@pytest.mark.parametrize("kind", ["imputer_then_onehot", "imputer_then_onehot/sparse"])
def test_the_given_model_is_untouched_and_the_result_pickles(models: dict[str, Pipeline], kind: str) -> None:
    model = models[kind]
    before = pickle.dumps(model)
    original_class = type(model[0])
    steps = list(model.steps)
    fitted = list(model[0].transformers_)
    fast, names = encoding.accelerate(model)
    assert names[0] == "pre.cat"
    assert fast is not model and model.steps == steps and model[0].transformers_ == fitted
    assert pickle.dumps(model) == before and type(model[0]) is original_class
    frame = _frame(np.random.default_rng(5), 300, missing=0.2)
    again = pickle.loads(pickle.dumps(fast))
    assert type(again[0]) is type(fast[0])  # the sparse-stacking subclass, when the output is sparse
    assert (type(fast[0]) is not original_class) == model[0].sparse_output_
    np.testing.assert_array_equal(again.predict_proba(frame), model.predict_proba(frame))
    with pytest.raises(TypeError, match="fit the original"):
        fast[0].named_transformers_["cat"].fit(frame)


def test_what_is_left_alone() -> None:
    train = _frame(np.random.default_rng(0), 300)
    y = _target(train)

    class MyEncoder(OrdinalEncoder):
        pass

    plain = make_pipeline(StandardScaler(), LogisticRegression()).fit(train[["x", "y"]], y)
    subclass = make_pipeline(MyEncoder(), LogisticRegression()).fit(train[CATS], y)
    indicator = make_pipeline(
        make_pipeline(SimpleImputer(strategy="most_frequent", add_indicator=True), OneHotEncoder()),
        LogisticRegression(),
    ).fit(train[CATS], y)
    bare = LogisticRegression().fit(train[["x", "y"]], y)
    for model in (plain, subclass, bare):
        fast, names = encoding.accelerate(model)
        assert fast is model and names == ()
    # An imputer that adds indicator columns is not value-wise per input column as a whole, but
    # the encoder after it is, on the imputer's output.
    fast, names = encoding.accelerate(indicator)
    assert names == ("pipeline.onehotencoder",)
    frame = _frame(np.random.default_rng(8), 300, missing=0.2)[CATS]
    _same(indicator[0].transform(frame), fast[0].transform(frame))


# ------------------------------------------------------------------------------ through the scorer
SCHEMA = FeatureSchema(
    features=(
        FeatureSpec(name="x", type="numeric"),
        FeatureSpec(name="y", type="numeric"),
        FeatureSpec(name="z", type="numeric"),
        *(FeatureSpec(name=c, type="categorical") for c in CATS),
    ),
    id_columns=("id",),
)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_scorer_output_is_identical_with_and_without(
    tmp_path: Path, models: dict[str, Pipeline], fmt: str
) -> None:
    frame = _frame(np.random.default_rng(6), 3000, missing=0.05, unseen=0.01)
    frame.insert(0, "id", [f"r{i}" for i in range(len(frame))])
    source = tmp_path / f"in.{fmt}"
    frame.to_csv(source, index=False) if fmt == "csv" else frame.to_parquet(source, index=False)
    for kind in ("onehot_sparse", "onehot_sparse/sparse", "ordinal_unknown", "imputer_then_onehot/sparse"):
        outs = []
        for distinct in (True, False):
            out = tmp_path / f"{kind}-{distinct}.parquet"
            score_source(
                str(source),
                model=loaded_model(models[kind], SCHEMA),
                output_uri=str(out),
                batch_id="b",
                chunk_rows=700,
                max_reject_fraction=0.05,
                scored_at=datetime(2026, 1, 1, tzinfo=UTC),
                distinct_encoding=distinct,
            )
            outs.append(pq.read_table(out))
        assert outs[0].num_rows == 3000
        assert outs[0].equals(outs[1]), kind


def test_scorer_rejects_an_unknown_category_with_the_models_message(tmp_path: Path) -> None:
    train = _frame(np.random.default_rng(0), 300)
    model = Pipeline(
        [
            (
                "pre",
                ColumnTransformer([("num", "passthrough", ["x", "y", "z"]), ("cat", OneHotEncoder(), CATS)]),
            ),
            ("model", LogisticRegression()),
        ]
    ).fit(train, _target(train))
    frame = _frame(np.random.default_rng(7), 500, unseen=0.01)
    frame.insert(0, "id", range(len(frame)))
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    messages = []
    for distinct in (True, False):
        with pytest.raises(InputRejectedError) as err:
            score_source(
                str(source),
                model=loaded_model(model, SCHEMA),
                output_uri=str(tmp_path / f"out-{distinct}.parquet"),
                batch_id="b",
                chunk_rows=200,
                max_reject_fraction=0.05,
                scored_at=datetime(2026, 1, 1, tzinfo=UTC),
                distinct_encoding=distinct,
            )
        assert err.value.reason == "model_rejected_input"
        messages.append(str(err.value))
        assert not (tmp_path / f"out-{distinct}.parquet").exists()
    assert messages[0] == messages[1]
    assert "Found unknown categories" in messages[0]
