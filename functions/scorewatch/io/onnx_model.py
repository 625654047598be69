"""ONNX models scored through onnxruntime: a graph, never code.

An ``.onnx`` file is a protobuf description of a computation graph; onnxruntime executes the
operators it names and nothing else, so loading one deserializes no Python object at all (there
is no allowlist to keep, unlike skops). Its bytes are still hash-checked against the registry's
sha256 before onnxruntime parses them (``artifacts.load_artifact``).

:class:`OnnxModel` wraps an ``InferenceSession`` in the part of the scikit-learn interface scoring
uses (``predict_proba``, ``predict``, ``classes_``, ``feature_names_in_``), so the scorer, the
monitor and the gate take it like any estimator. Inputs are fed by name:

* one input per column (what ``skl2onnx`` writes for a ``ColumnTransformer`` pipeline, and what
  ``scorewatch models export`` asks it for): each column is cast to its input's element type
  (``tensor(float)`` -> float32, ``tensor(double)`` -> float64, ``tensor(int64)`` -> int64,
  ``tensor(string)`` -> text, missing text as ``"nan"``, see :data:`MISSING_TEXT`);
* one 2-D numeric tensor: the features stacked in schema order (the graph's
  ``scorewatch.features`` metadata, else the frame's columns).

Classifiers' probabilities come from the output named ``probabilities`` (``zipmap`` off) or, from
a graph exported with ZipMap, the sequence of maps, reordered to ``classes_``. The task, the
classes and the feature schema are read from the graph's metadata (``scorewatch.*`` keys, written
by the exporter), else from its label output and its ``ai.onnx.ml`` nodes' class labels.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from scorewatch.core.errors import IncompatibleModelError, ModelIntegrityError
from scorewatch.core.schema import FeatureSchema

#: Metadata keys the exporter writes into the graph (``metadata_props``).
META_TASK = "scorewatch.task"
META_CLASSES = "scorewatch.classes"
META_FEATURES = "scorewatch.features"
META_SCHEMA = "scorewatch.feature_schema"
META_PRECISION = "scorewatch.preprocessing"  # float64 or float32: how the exporter converted it

_NUMPY_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}
_STRING = "tensor(string)"
#: What a missing categorical value is fed as: the text skl2onnx gives a NaN category of a
#: scikit-learn encoder fitted with missing values (an unseen category otherwise).
MISSING_TEXT = "nan"


class OnnxModel:
    """An onnxruntime session with the scikit-learn methods scoring calls.

    Parameters
    ----------
    data : bytes
        The ``.onnx`` file (already hash-checked by the caller when a hash is known).
    what : str
        ``model@version`` or a path, for messages.
    """

    def __init__(self, data: bytes, *, what: str) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... classes
            raise ModelIntegrityError(f"{what}: not a loadable ONNX model: {_first_line(exc)}") from exc
        self.what = what
        self.inputs: dict[str, str] = {str(i.name): str(i.type) for i in self.session.get_inputs()}
        self._input_shapes = {str(i.name): list(i.shape) for i in self.session.get_inputs()}
        self.outputs: list[tuple[str, str]] = [(str(o.name), str(o.type)) for o in self.session.get_outputs()]
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self._proba = self._probability_output()
        self.task = self.metadata.get(META_TASK) or self._guess_task(data)
        self._classes = self._read_classes(data) if self.task != "regression" else None

    # ------------------------------------------------------------------ description

    def _probability_output(self) -> str | None:
        for name, kind in self.outputs:
            if name == "probabilities" or kind.startswith("seq(map("):
                return name
        return None

    def _guess_task(self, data: bytes) -> str:
        if self._proba is None:
            return "regression"
        labels = _graph_class_labels(data)
        return "binary" if labels is not None and len(labels) == 2 else "multiclass"

    def _read_classes(self, data: bytes) -> tuple[Any, ...] | None:
        if META_CLASSES in self.metadata:
            return tuple(json.loads(self.metadata[META_CLASSES]))
        labels = _graph_class_labels(data)
        if labels is not None:
            return labels
        # no labels anywhere: 0..k-1 when the probabilities' width is static
        shape = next(o.shape for o in self.session.get_outputs() if o.name == self._proba)
        width = shape[1] if len(shape) > 1 else None
        return tuple(range(width)) if isinstance(width, int) else None

    @property
    def per_column(self) -> bool:
        """True when the graph takes one input per column (not one stacked tensor)."""
        if len(self.inputs) != 1:
            return True
        (name,) = self.inputs
        shape = self._input_shapes[name]
        width = shape[1] if len(shape) > 1 else 1
        return width == 1 and self.metadata.get(META_FEATURES) is None

    @property
    def feature_names_in_(self) -> np.ndarray:
        """The columns the graph consumes, in order (metadata, else the per-column inputs)."""
        if META_FEATURES in self.metadata:
            return np.asarray(json.loads(self.metadata[META_FEATURES]), dtype=object)
        if self.per_column:
            return np.asarray(list(self.inputs), dtype=object)
        raise AttributeError("feature_names_in_")  # one unnamed tensor: the sample names them

    @property
    def classes_(self) -> np.ndarray:
        if self.task == "regression":
            raise AttributeError("classes_")
        if self._classes is None:
            raise AttributeError("classes_")
        return np.asarray(self._classes, dtype=object)

    def __sklearn_tags__(self) -> Any:
        """What scikit-learn's ``is_classifier``/``is_regressor`` read (the graph is fitted)."""
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        classifier = self.task != "regression"
        return Tags(
            estimator_type="classifier" if classifier else "regressor",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags() if classifier else None,
            regressor_tags=None if classifier else RegressorTags(),
        )

    def feature_types(self) -> dict[str, str]:
        """``{column: "numeric" | "categorical"}`` from the per-column inputs' element types."""
        if not self.per_column:
            return {}
        return {name: ("categorical" if kind == _STRING else "numeric") for name, kind in self.inputs.items()}

    def feature_schema(self) -> dict[str, Any] | None:
        """The feature schema the exporter embedded (a FeatureSchema as JSON), if any."""
        text = self.metadata.get(META_SCHEMA)
        return json.loads(text) if text else None

    def check_columns(self, columns: Sequence[str]) -> None:
        """Refuse a feature list the graph cannot be fed from, naming every missing input."""
        have = set(columns)
        wanted = list(self.inputs) if self.per_column else list(self.feature_names_in_)
        missing = [name for name in wanted if name not in have]
        if missing:
            raise IncompatibleModelError(
                f"{self.what}: the ONNX graph needs input(s) {missing} that the features do not "
                f"provide (features: {list(columns)})"
            )

    # ------------------------------------------------------------------ prediction

    def _feed(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{self.what}: an ONNX model is fed a DataFrame of named columns")
        self.check_columns([str(c) for c in X.columns])
        if not self.per_column:
            (name,) = self.inputs
            kind = self.inputs[name]
            dtype = _NUMPY_TYPES.get(kind)
            if dtype is None:
                raise IncompatibleModelError(f"{self.what}: input {name!r} has unsupported type {kind}")
            columns = list(self.feature_names_in_)
            return {name: _numeric(X[columns], dtype, name, self.what)}
        feed: dict[str, np.ndarray] = {}
        for name, kind in self.inputs.items():
            column = X[name]
            if kind == _STRING:
                feed[name] = _text(column)
                continue
            dtype = _NUMPY_TYPES.get(kind)
            if dtype is None:
                raise IncompatibleModelError(f"{self.what}: input {name!r} has unsupported type {kind}")
            feed[name] = _numeric(column.to_frame(), dtype, name, self.what)
        return feed

    def _run(self, X: pd.DataFrame) -> dict[str, Any]:
        names = [name for name, _ in self.outputs]
        feed = self._feed(X)
        try:
            values = self.session.run(names, feed)
        except Exception as exc:  # onnxruntime's own error classes: the input's doing, reported
            raise ValueError(f"{self.what}: onnxruntime refused the input: {_first_line(exc)}") from exc
        return dict(zip(names, values, strict=True))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        if self._proba is None:
            raise IncompatibleModelError(f"{self.what}: the ONNX graph has no probabilities output")
        raw = self._run(X)[self._proba]
        if isinstance(raw, list):  # ZipMap: one {class: probability} dict per row
            keys = list(self._classes) if self._classes is not None else []
            if raw and not all(k in raw[0] for k in keys):
                keys = sorted(raw[0])  # keyed by class index (CatBoost): the classes' sorted order
            return np.asarray([[row[k] for k in keys] for row in raw], dtype=np.float64)
        return np.asarray(raw, dtype=np.float64)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted values (regression) or labels (the graph's label output)."""
        outputs = self._run(X)
        name = next(n for n, _ in self.outputs if n != self._proba)
        values = np.asarray(outputs[name])
        if self.task == "regression":
            return values.reshape(len(X), -1)[:, 0].astype(np.float64)
        return values.reshape(-1)


def _text(column: pd.Series) -> np.ndarray:
    """A column as a ``tensor(string)`` feed: text as it is (the scorer's categoricals are already
    ``str``), anything else through ``str``, missing values as :data:`MISSING_TEXT`."""
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = MISSING_TEXT
    if column.dtype != object and not pd.api.types.is_string_dtype(column.dtype):
        values = np.asarray([str(v) for v in values], dtype=object)
    elif not all(isinstance(v, str) for v in values):  # the scorer's are; a caller's may not be
        values = np.asarray([v if isinstance(v, str) else str(v) for v in values], dtype=object)
    shaped: np.ndarray = values.reshape(-1, 1)
    return shaped


def _numeric(frame: pd.DataFrame, dtype: Any, name: str, what: str) -> np.ndarray:
    try:
        values: np.ndarray = frame.to_numpy(dtype=np.float64)
        if dtype is not np.float64:
            values = values.astype(dtype)
        return values
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{what}: column(s) {list(frame.columns)} cannot feed the numeric ONNX input {name!r}: "
            f"{_first_line(exc)}"
        ) from exc


def _graph_class_labels(data: bytes) -> tuple[Any, ...] | None:
    """Class labels from the graph's ``ai.onnx.ml`` classifier/ZipMap nodes.

    Needs the ``onnx`` package (the CLI's ``onnx`` extra, not in the functions' image: there the
    card gives the classes).
    """
    try:
        import onnx
    except ModuleNotFoundError:
        return None
    model = onnx.load_model_from_string(data)
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.name == "classlabels_strings" and attr.strings:
                return tuple(s.decode() for s in attr.strings)
            if attr.name in ("classlabels_int64s", "classlabels_ints") and attr.ints:
                return tuple(int(i) for i in attr.ints)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def schema_for(model: OnnxModel, inferred: FeatureSchema) -> tuple[FeatureSchema, str]:
    """The feature schema of a graph scored without a card, and where it came from.

    The schema the exporter embedded when there is one; otherwise ``inferred`` (from the graph's
    inputs and an input sample) with each per-column input's type taken from its element type:
    a ``tensor(string)`` input is categorical, a numeric one numeric.
    """
    from scorewatch.core.schema import FeatureSpec

    embedded = model.feature_schema()
    if embedded is not None:
        schema = FeatureSchema.model_validate(embedded)
        ids = tuple(dict.fromkeys([*schema.id_columns, *inferred.id_columns]))
        ids = tuple(i for i in ids if i not in set(schema.names))
        return schema.model_copy(update={"id_columns": ids}), "feature schema embedded in the ONNX graph"
    types = model.feature_types()
    features = []
    for spec in inferred.features:
        wanted = types.get(spec.name)
        if wanted == "categorical" and spec.type != "categorical":
            spec = FeatureSpec(name=spec.name, type="categorical", nullable=spec.nullable)  # noqa: PLW2901
        elif wanted == "numeric" and spec.type not in ("numeric", "boolean"):
            spec = FeatureSpec(name=spec.name, type="numeric", nullable=spec.nullable)  # noqa: PLW2901
        features.append(spec)
    schema = inferred.model_copy(update={"features": tuple(features)})
    return schema, "feature schema from the ONNX graph's inputs and the input's first rows; no card"


def load(data: bytes, *, what: str) -> OnnxModel:
    """An :class:`OnnxModel` for ``data`` (hash-check it first: ``artifacts.load_artifact``)."""
    return OnnxModel(data, what=what)


__all__ = [
    "META_CLASSES",
    "META_FEATURES",
    "META_PRECISION",
    "META_SCHEMA",
    "META_TASK",
    "OnnxModel",
    "load",
    "schema_for",
]
