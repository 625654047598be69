"""The ONNX twin of a registered version: convert, verify on the baseline sample, register.

``scorewatch models export NAME@VER --format onnx`` converts the version's scikit-learn estimator
with ``skl2onnx`` (a Pipeline ending in a LightGBM or XGBoost model through ``onnxmltools``'
converters, registered with skl2onnx for the pipeline's last step; a CatBoost last step through
CatBoost's own ONNX export), scores the version's baseline
sample (or a stated sample) with both the native estimator and the graph (onnxruntime), and
refuses the twin when the largest absolute difference of any score exceeds the tolerance. A twin
that agrees is registered as a new candidate version of the same model: artifact ``model.onnx``
hash-pinned like every artifact, the same schema, classes, baseline and metrics, ``parent_version``
the source, and a ``conversion`` record on its card (max abs difference, tolerance, sample, the
converters' versions). Promote it like any version; the score function then runs the graph.

The graph takes one input per feature, named after the column: ``tensor(double)`` for numeric
and boolean features (``tensor(float)`` when the float64 preprocessing of :func:`_convert_split`
does not convert), ``tensor(string)`` for categorical ones (what a ColumnTransformer pipeline
converts from), probabilities with ZipMap off. Datetime features are not convertible.

The converters run here, in the CLI's environment (``scorewatch[onnx]``), which is why this module
sits in ``scorewatch.cli``: the functions' image (everything but the CLI) carries only onnxruntime
to score the result.
"""

from __future__ import annotations

import contextlib
import json
import logging
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from scorewatch.core.cards import Conversion, ModelCard
from scorewatch.core.errors import ConfigError, IncompatibleModelError
from scorewatch.core.schema import FeatureSchema
from scorewatch.io import artifacts, onnx_model
from scorewatch.scoring.scorer import predict_frame

logger = logging.getLogger(__name__)

#: Default tolerance on max |ONNX - native| of a probability (absolute) or of a regression
#: prediction (relative to max(1, max |native prediction|) on the sample).
DEFAULT_TOLERANCE = 1e-4
#: Rows of a stated sample (``--sample``) read for verification.
SAMPLE_ROWS = 10_000
#: Opsets written (onnxruntime >= 1.16 runs them; onnxmltools' tree converters support these).
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
_CONVERTERS = ("onnx", "skl2onnx", "onnxmltools", "onnxruntime", "scikit-learn", "lightgbm", "xgboost")


@dataclass(frozen=True)
class Agreement:
    """How closely the graph reproduces the native estimator on a sample."""

    max_abs_diff: float
    allowed: float  # the bound max_abs_diff was held to (tolerance, scaled for regression)
    rows: int
    columns: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.allowed


def _versions() -> dict[str, str]:
    out = {}
    for dist in _CONVERTERS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


_REGISTERED = False


def _register_boosting_converters() -> None:
    """Teach skl2onnx the LightGBM and XGBoost estimators (when those libraries are installed)."""
    global _REGISTERED  # noqa: PLW0603 - skl2onnx's converter registry is process-wide too
    if _REGISTERED:
        return
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    with contextlib.suppress(ModuleNotFoundError):
        from lightgbm import LGBMClassifier, LGBMRegressor
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        update_registered_converter(
            LGBMClassifier,
            "LightGbmLGBMClassifier",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options=classifier_options,
        )
        update_registered_converter(
            LGBMRegressor,
            "LightGbmLGBMRegressor",
            calculate_linear_regressor_output_shapes,
            convert_lightgbm,
            options={"split": None},
        )
    with contextlib.suppress(ModuleNotFoundError):
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
        from xgboost import XGBClassifier, XGBRegressor

        update_registered_converter(
            XGBClassifier,
            "XGBoostXGBClassifier",
            calculate_linear_classifier_output_shapes,
            convert_xgboost,
            options=classifier_options,
        )
        update_registered_converter(
            XGBRegressor, "XGBoostXGBRegressor", calculate_linear_regressor_output_shapes, convert_xgboost
        )
    _REGISTERED = True


def _plain(value: Any) -> Any:
    if isinstance(value, bool | np.bool_ | np.integer):
        return int(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray) and value.dtype == np.bool_:
        return value.astype(np.int64)
    return value


@contextlib.contextmanager
def _plain_attributes() -> Iterator[None]:
    """Node attributes as Python ints while converting.

    skl2onnx 1.20's HistGradientBoosting converter passes numpy booleans and unsigned integers as
    node attributes, which protobuf 7 refuses ("Expected an int, got a boolean"); the values are
    0/1 flags and node ids, so converting them to ``int`` changes nothing else.
    """
    from skl2onnx.common._container import ModelComponentContainer

    original = ModelComponentContainer.add_node

    def add_node(self: Any, op_type: Any, inputs: Any, outputs: Any, *args: Any, **attrs: Any) -> Any:
        return original(self, op_type, inputs, outputs, *args, **{k: _plain(v) for k, v in attrs.items()})

    ModelComponentContainer.add_node = add_node
    try:
        yield
    finally:
        ModelComponentContainer.add_node = original


def _final_step(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def _starts_with_column_transformer(estimator: Any) -> bool:
    steps = getattr(estimator, "steps", None)
    first = steps[0][1] if steps else estimator
    return type(first).__name__ == "ColumnTransformer"


def convert(
    estimator: Any,
    schema: FeatureSchema,
    *,
    task: str,
    classes: tuple[Any, ...] | None,
    name: str,
) -> bytes:
    """The estimator as an ONNX graph (bytes) with scorewatch's metadata.

    Raises
    ------
    IncompatibleModelError
        A datetime feature, or a step skl2onnx cannot convert (names it).
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    dated = [f.name for f in schema.features if f.type == "datetime"]
    if dated:
        raise IncompatibleModelError(f"{name}: datetime features cannot be converted to ONNX: {dated}")
    _register_boosting_converters()
    numeric_only = all(f.type != "categorical" for f in schema.features)
    stacked = numeric_only and not _starts_with_column_transformer(estimator)
    if stacked:  # a bare estimator fitted on a numeric matrix: one tensor, columns in schema order
        initial: list[tuple[str, Any]] = [("X", FloatTensorType([None, len(schema.features)]))]
    else:
        initial = [
            (f.name, StringTensorType([None, 1]) if f.type == "categorical" else FloatTensorType([None, 1]))
            for f in schema.features
        ]
    options = None if task == "regression" else {id(_final_step(estimator)): {"zipmap": False}}
    graph, precision = None, "float32"
    if not stacked and len(getattr(estimator, "steps", None) or ()) >= 2:
        try:
            graph, precision = _convert_split(estimator, schema, options), "float64"
        except Exception as exc:  # noqa: BLE001 - the all-float32 conversion below is the fallback
            logger.info(
                "float64 preprocessing not convertible; converting in float32", extra={"why": str(exc)}
            )
    if graph is None:
        try:
            with _plain_attributes():
                graph = convert_sklearn(
                    estimator, name=name, initial_types=initial, options=options, target_opset=TARGET_OPSET
                )
        except Exception as exc:  # skl2onnx raises RuntimeError/ValueError/MissingShapeCalculator...
            text = " ".join(str(exc).split())[:400]
            kind = type(exc).__name__
            raise IncompatibleModelError(f"{name}: cannot convert to ONNX ({kind}: {text})") from exc
    meta = {
        onnx_model.META_TASK: task,
        onnx_model.META_SCHEMA: schema.model_dump_json(),
        onnx_model.META_PRECISION: precision,
    }
    if classes is not None:
        meta[onnx_model.META_CLASSES] = json.dumps(list(classes))
    if stacked:
        meta[onnx_model.META_FEATURES] = json.dumps(schema.names)
    for key, value in meta.items():
        prop = graph.metadata_props.add()
        prop.key, prop.value = key, value
    data: bytes = graph.SerializeToString()
    return data


def _convert_split(estimator: Any, schema: FeatureSchema, options: dict[int, Any] | None) -> Any:
    """Preprocessing in float64 and the final step in float32, as scikit-learn computes them.

    A pipeline converted wholly in float32 scales numbers in float32; scikit-learn scales in
    float64 and trees cast to float32 afterwards. Trees split exactly at training values (forests,
    XGBoost), so a difference of one unit in the last place sends a row down the other branch.
    Here the transformers take float64 inputs, their output is cast to float32 (what the final
    estimator does itself) and the final step's graph is appended. onnxruntime has no float64
    ``Imputer``: each is rewritten as ``Where(IsNaN(x), values, x)``.
    """
    import onnx
    import onnx.compose
    from onnx import helper, numpy_helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    head, last = estimator[:-1], estimator.steps[-1][1]
    width = int(last.n_features_in_)
    initial = [
        (f.name, StringTensorType([None, 1]) if f.type == "categorical" else DoubleTensorType([None, 1]))
        for f in schema.features
    ]
    with _plain_attributes():
        pre = convert_sklearn(head, initial_types=initial, target_opset=TARGET_OPSET)
        if _is_catboost(last):
            est = _catboost_graph(last)
        else:
            est = convert_sklearn(
                last,
                initial_types=[("prepared", FloatTensorType([None, width]))],
                options=options,
                target_opset=TARGET_OPSET,
            )
    # the final step keeps its output names (``label``, ``probabilities``, ``variable``)
    pre = onnx.compose.add_prefix(pre, "prepare_", rename_inputs=False)
    nodes = []
    for node in pre.graph.node:
        if node.op_type != "Imputer":
            nodes.append(node)
            continue
        attrs = {a.name: a for a in node.attribute}
        replaced = attrs.get("replaced_value_float")
        if replaced is not None and not np.isnan(replaced.f):
            raise ValueError("an imputer of a value other than NaN")
        values = np.asarray(attrs["imputed_value_floats"].floats, dtype=np.float64).reshape(1, -1)
        pre.graph.initializer.append(numpy_helper.from_array(values, f"{node.name}_values"))
        nodes.append(helper.make_node("IsNaN", [node.input[0]], [f"{node.name}_isnan"]))
        nodes.append(
            helper.make_node(
                "Where", [f"{node.name}_isnan", f"{node.name}_values", node.input[0]], node.output
            )
        )
    del pre.graph.node[:]
    pre.graph.node.extend(nodes)
    (out,) = pre.graph.output
    pre.graph.node.append(helper.make_node("Cast", [out.name], ["prepared32"], to=onnx.TensorProto.FLOAT))
    pre.graph.output.pop()
    pre.graph.output.append(
        helper.make_tensor_value_info("prepared32", onnx.TensorProto.FLOAT, [None, width])
    )
    opsets: dict[str, int] = {}
    for graph in (pre, est):
        for op in graph.opset_import:
            opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
    for graph in (pre, est):
        del graph.opset_import[:]
        graph.opset_import.extend(helper.make_opsetid(d, v) for d, v in opsets.items())
    ir_version = max(pre.ir_version, est.ir_version)
    for graph in (pre, est):
        graph.ir_version = ir_version
    est = onnx.compose.add_prefix(est, "final_", rename_outputs=False)
    return onnx.compose.merge_models(pre, est, io_map=[("prepared32", est.graph.input[0].name)])


def _is_catboost(estimator: Any) -> bool:
    return type(estimator).__module__.startswith("catboost")


def _catboost_graph(estimator: Any) -> Any:
    """CatBoost's own ONNX export of a fitted model (numeric inputs only: no ``cat_features``)."""
    import os
    import tempfile

    import onnx

    handle, path = tempfile.mkstemp(suffix=".onnx")
    os.close(handle)
    try:
        estimator.save_model(path, format="onnx")
        return onnx.load_model(path)
    finally:
        os.unlink(path)


def agreement(
    native: Any,
    twin: Any,
    features: pd.DataFrame,
    *,
    task: str,
    classes: tuple[Any, ...] | None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Agreement:
    """Max |twin - native| over the score columns (``prediction`` for regression) on ``features``."""
    labels = list(classes) if classes is not None else None
    ours = predict_frame(native, features, task=task, classes=labels)
    theirs = predict_frame(twin, features, task=task, classes=labels)
    columns = ["prediction"] if task == "regression" else [c for c in ours.columns if c != "prediction"]
    a = ours[columns].to_numpy(dtype=np.float64)
    b = theirs[columns].to_numpy(dtype=np.float64)
    diff = float(np.nanmax(np.abs(a - b))) if a.size else 0.0
    if np.isnan(a).any() != np.isnan(b).any() or (np.isnan(a) != np.isnan(b)).any():
        diff = float("inf")
    allowed = tolerance
    if task == "regression" and a.size:
        allowed = tolerance * max(1.0, float(np.nanmax(np.abs(a))))
    return Agreement(max_abs_diff=diff, allowed=allowed, rows=len(features), columns=tuple(columns))


def _sample_features(registry: Any, card: ModelCard, sample_uri: str | None) -> tuple[pd.DataFrame, str]:
    """The verification rows, validated like scoring input: the baseline sample, else ``sample_uri``."""
    from scorewatch.io import storage
    from scorewatch.scoring.validation import validate_batch

    schema = card.feature_schema.model_copy(update={"id_columns": ()})  # features only
    if sample_uri is not None:
        frames = []
        rows = 0
        for batch in storage.open_batches(sample_uri, chunk_rows=SAMPLE_ROWS, columns=schema.names):
            chunk = validate_batch(batch, schema, row_offset=rows, source_uri=sample_uri)
            rows += chunk.rows_in
            frames.append(chunk.features)
            if rows >= SAMPLE_ROWS:
                break
        source = sample_uri
    else:
        table = registry.read_baseline_sample(card)
        if table is None:
            raise ConfigError(
                f"{card.model_name}@{card.version} has no baseline sample: give --sample URI "
                "(rows of the model's input) to verify the ONNX twin on"
            )
        frames = [validate_batch(table, schema, row_offset=0, source_uri="baseline").features]
        source = "baseline"
    features = pd.concat(frames) if frames else pd.DataFrame()
    if features.empty:
        raise ConfigError(f"no valid rows to verify the ONNX twin on ({source})")
    return features.reset_index(drop=True), source


def export_onnx(
    registry: Any,
    model_name: str,
    ref: str,
    *,
    now: datetime,
    tolerance: float = DEFAULT_TOLERANCE,
    sample_uri: str | None = None,
) -> ModelCard:
    """Convert ``model_name@ref``, verify it, and register the twin as a new candidate version.

    Raises
    ------
    IncompatibleModelError
        Not convertible, or the twin disagrees with the native estimator by more than the tolerance
        (the message gives the max abs difference, the bound and the sample); nothing is registered.
    ConfigError
        No baseline sample and no ``sample_uri``.
    """
    if not tolerance > 0:
        raise ConfigError(f"--tolerance must be positive, got {tolerance}")
    loaded = registry.load(model_name, ref)
    card: ModelCard = loaded.card
    what = f"{card.model_name}@{card.version}"
    if card.artifact.format == "onnx":
        raise ConfigError(f"{what} is already an ONNX version")
    data = convert(loaded.estimator, card.feature_schema, task=card.task, classes=card.classes, name=what)
    twin = onnx_model.load(data, what=f"ONNX twin of {what}")
    twin.check_columns(card.feature_schema.names)
    features, source = _sample_features(registry, card, sample_uri)
    agreed = agreement(
        loaded.estimator, twin, features, task=card.task, classes=card.classes, tolerance=tolerance
    )
    bound = "relative tolerance" if card.task == "regression" else "tolerance"
    summary = (
        f"max abs difference {agreed.max_abs_diff:.3g} over {agreed.rows} rows of the {source} sample "
        f"({bound} {tolerance:g}, bound {agreed.allowed:.3g})"
    )
    if not agreed.passed:
        raise IncompatibleModelError(
            f"{what}: the ONNX twin disagrees with the native model: {summary}; refused"
        )
    profile = registry.read_baseline_profile(card) if card.baseline.profile_key else None
    sample = registry.read_baseline_sample(card)
    art = artifacts.DumpedArtifact(
        data=data,
        sha256=artifacts.sha256_hex(data),
        format="onnx",
        library_versions={
            **{k: v for k, v in _versions().items() if k in ("onnx", "onnxruntime")},
            "python": platform.python_version(),
        },
    )
    twin_card: ModelCard = registry.register(
        card.model_name,
        art,
        task=card.task,
        feature_schema=card.feature_schema,
        now=now,
        target=card.target,
        classes=card.classes,
        metrics=dict(card.metrics),
        params=dict(card.params),
        training_data=card.training_data,
        parent_version=card.version,
        baseline_profile=profile,
        baseline_sample=sample,
        calibration=card.calibration,
        decision_policy=card.decision_policy,
        description=f"ONNX twin of {what}: {summary}",
        conversion=Conversion(
            source_version=card.version,
            source_sha256=card.artifact.sha256,
            max_abs_diff=agreed.max_abs_diff,
            tolerance=tolerance,
            sample=source,
            sample_rows=agreed.rows,
            converter_versions=_versions(),
        ),
    )
    logger.info(
        "registered ONNX twin",
        extra={"model": model_name, "version": twin_card.version, "source_version": card.version},
    )
    return twin_card


def onnx_artifact(data: bytes) -> artifacts.DumpedArtifact:
    """An ``.onnx`` file as an artifact to register as it is (``scorewatch models register``)."""
    onnx_model.load(data, what="ONNX file")  # refuse what onnxruntime cannot load before storing it
    versions = {k: v for k, v in _versions().items() if k in ("onnx", "onnxruntime")}
    return artifacts.DumpedArtifact(
        data, artifacts.sha256_hex(data), "onnx", {**versions, "python": platform.python_version()}
    )


__all__ = ["DEFAULT_TOLERANCE", "Agreement", "agreement", "convert", "export_onnx", "onnx_artifact"]
