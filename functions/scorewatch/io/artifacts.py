"""Model artifacts: serialize with skops, verify before deserializing, refuse what is not trusted.

Threat model: whoever can write to the models bucket (or intercept an artifact) must not get code
execution in a scoring function. So an artifact is (1) checked against the sha256 the registry
recorded at registration *before* a single byte is parsed, (2) parsed with skops, never pickle,
and only if every type it contains is in :data:`TRUSTED_TYPES`, and (3) refused when it was
written under another scikit-learn minor version (estimators' internals change between minors
and can silently predict garbage). pickle/joblib is available only through an explicit opt-in
(``allow_unsafe_pickle``) and is still hash-checked.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import platform
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

from scorewatch.core.errors import (
    IncompatibleModelError,
    ModelIntegrityError,
    UnsafeModelFormatError,
)

logger = logging.getLogger(__name__)

ArtifactFormat = Literal["skops", "joblib", "onnx"]

# Every type an artifact may contain. Explicit on purpose: a type is trusted because someone
# decided so here, not because a library's default list grew. Covers Pipelines/ColumnTransformer,
# HistGradientBoosting (TreePredictor, _BinMapper, losses), LogisticRegression and linear models,
# RandomForest/ExtraTrees/GradientBoosting (Tree, Dummy init estimators), encoders, imputers and
# scalers. Extend it (and its test) when a new estimator family is needed.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        # containers and scalars skops writes for estimator state
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.set",
        "builtins.frozenset",
        "builtins.str",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.bytes",
        "builtins.slice",
        "builtins.NoneType",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.float16",
        "numpy.float32",
        "numpy.float64",
        "numpy.int8",
        "numpy.int16",
        "numpy.int32",
        "numpy.int64",
        "numpy.uint8",
        "numpy.uint16",
        "numpy.uint32",
        "numpy.uint64",
        "numpy.bool_",
        "numpy.bool",
        "numpy.str_",
        "numpy.random.mtrand.RandomState",
        "numpy.random._generator.Generator",
        "numpy.random._mt19937.MT19937",
        "numpy.random._pcg64.PCG64",
        # composition
        "sklearn.pipeline.Pipeline",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.compose._column_transformer._RemainderColsList",
        # "passthrough" columns are stored as FunctionTransformer(func=None); any function it
        # carries is a separate node in the file and must itself be listed here to load.
        "sklearn.preprocessing._function_transformer.FunctionTransformer",
        # preprocessing
        "sklearn.impute._base.SimpleImputer",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._data.MinMaxScaler",
        "sklearn.preprocessing._data.MaxAbsScaler",
        "sklearn.preprocessing._data.RobustScaler",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._encoders.OrdinalEncoder",
        "sklearn.preprocessing._target_encoder.TargetEncoder",
        "sklearn.preprocessing._label.LabelEncoder",
        "sklearn.preprocessing._label.LabelBinarizer",
        # HistGradientBoosting
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss._loss.CyHalfMultinomialLoss",
        "sklearn._loss._loss.CyHalfSquaredError",
        "sklearn._loss.link.IdentityLink",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn._loss.link.Interval",
        # linear models
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.linear_model._base.LinearRegression",
        "sklearn.linear_model._ridge.Ridge",
        # trees and forests
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.tree._classes.ExtraTreeClassifier",
        "sklearn.tree._classes.ExtraTreeRegressor",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._forest.RandomForestRegressor",
        "sklearn.ensemble._forest.ExtraTreesClassifier",
        "sklearn.ensemble._forest.ExtraTreesRegressor",
        "sklearn.ensemble._gb.GradientBoostingClassifier",
        "sklearn.ensemble._gb.GradientBoostingRegressor",
        "sklearn.dummy.DummyClassifier",
        "sklearn.dummy.DummyRegressor",
    }
)

# Distribution names recorded on every card (python is added separately).
_LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "skops")


@dataclass(frozen=True)
class DumpedArtifact:
    """Bytes ready for the models bucket plus what the registry records about them."""

    data: bytes
    sha256: str
    format: ArtifactFormat
    library_versions: dict[str, str] = field(default_factory=dict)
    trusted_types: tuple[str, ...] = ()

    @property
    def size_bytes(self) -> int:
        return len(self.data)


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries an estimator's behaviour depends on, plus Python's."""
    out = {}
    for dist in _LIBRARIES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    out["python"] = platform.python_version()
    return out


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def check_library_versions(
    recorded: dict[str, str], *, what: str, allow_version_mismatch: bool = False
) -> None:
    """Refuse an artifact recorded under another scikit-learn minor version.

    Parameters
    ----------
    recorded : dict
        The card's ``library_versions``.
    what : str
        ``model@version`` for messages.
    allow_version_mismatch : bool
        Load anyway, logging a loud warning.

    Raises
    ------
    IncompatibleModelError
        Naming both versions.
    """
    trained = recorded.get("scikit-learn")
    running = library_versions().get("scikit-learn")
    if not trained or not running or _minor(trained) == _minor(running):
        return
    msg = (
        f"{what} was trained with scikit-learn {trained} but this runtime has scikit-learn {running}; "
        "minor versions differ"
    )
    if not allow_version_mismatch:
        raise IncompatibleModelError(msg + " (retrain it, or set allow_version_mismatch to load anyway)")
    logger.warning(
        "LOADING MODEL UNDER A DIFFERENT SCIKIT-LEARN MINOR VERSION: %s; predictions may be wrong",
        msg,
        extra={"model": what, "trained_sklearn": trained, "runtime_sklearn": running},
    )


def _walk_types(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        if "__class__" in node and "__module__" in node:
            out.add(f"{node['__module__']}.{node['__class__']}")
        for value in node.values():
            _walk_types(value, out)
    elif isinstance(node, list):
        for value in node:
            _walk_types(value, out)


def skops_types(data: bytes, *, what: str = "artifact") -> set[str]:
    """Every type named in a skops file's schema (read as JSON; nothing is instantiated).

    Raises
    ------
    ModelIntegrityError
        If ``data`` is not a skops file.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            schema = json.loads(zf.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelIntegrityError(f"{what} is not a skops file: {exc}") from exc
    types: set[str] = set()
    _walk_types(schema, types)
    return types


def untrusted_types(data: bytes, *, what: str = "artifact") -> list[str]:
    """Types in a skops file that :data:`TRUSTED_TYPES` does not allow (sorted; empty if safe)."""
    import skops.io as sio

    found = skops_types(data, what=what)
    try:
        found |= set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # skops raises assorted errors on malformed files
        raise ModelIntegrityError(f"{what} is not a readable skops file: {exc}") from exc
    return sorted(found - TRUSTED_TYPES)


def dump_artifact(estimator: Any, *, fmt: ArtifactFormat = "skops") -> DumpedArtifact:
    """Serialize a fitted estimator.

    Parameters
    ----------
    estimator : object
        A fitted scikit-learn estimator or Pipeline.
    fmt : {"skops", "joblib"}
        "joblib" writes a pickle; loading it later needs ``allow_unsafe_pickle``.

    Returns
    -------
    DumpedArtifact
        Bytes, their sha256, the library versions and the non-default skops types it needs.

    Raises
    ------
    ModelIntegrityError
        If the estimator holds a type outside :data:`TRUSTED_TYPES` (it could never be loaded).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> art = dump_artifact(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))
    >>> len(art.sha256)
    64
    """
    versions = library_versions()
    if fmt == "skops":
        import skops.io as sio

        data = sio.dumps(estimator)
        refused = untrusted_types(data, what=type(estimator).__name__)
        if refused:
            raise ModelIntegrityError(
                f"estimator {type(estimator).__name__} holds types outside the trusted allowlist "
                f"(scorewatch.io.artifacts.TRUSTED_TYPES): {', '.join(refused)}"
            )
        trusted = tuple(sorted(sio.get_untrusted_types(data=data)))
        return DumpedArtifact(data, sha256_hex(data), "skops", versions, trusted)
    if fmt == "joblib":
        import joblib

        buf = io.BytesIO()
        joblib.dump(estimator, buf)
        data = buf.getvalue()
        return DumpedArtifact(data, sha256_hex(data), "joblib", versions, ())
    raise UnsafeModelFormatError(f"unknown artifact format {fmt!r}: use 'skops' (or 'joblib' if enabled)")


def verify_sha256(data: bytes, expected: str, *, what: str) -> None:
    """Raise ModelIntegrityError unless ``data`` hashes to ``expected``."""
    actual = sha256_hex(data)
    if actual != expected:
        raise ModelIntegrityError(
            f"{what}: artifact sha256 mismatch (expected {expected}, actual {actual}); refusing to load"
        )


def load_artifact(
    data: bytes,
    *,
    fmt: ArtifactFormat,
    expected_sha256: str | None,
    what: str,
    library_versions_recorded: dict[str, str] | None = None,
    allow_unsafe_pickle: bool = False,
    allow_version_mismatch: bool = False,
) -> Any:
    """Verify and deserialize an artifact.

    Order matters: version check and sha256 first, then the type audit, and only then are bytes
    turned into objects.

    Parameters
    ----------
    data : bytes
        The artifact as stored.
    fmt : {"skops", "joblib"}
    expected_sha256 : str or None
        From the registry (or the user, for a local file). ``None`` only for a local skops file
        without a card: its type allowlist still applies. A pickle is never loaded without one.
    what : str
        ``model@version`` or a path, used in every message.
    library_versions_recorded : dict, optional
        The card's library versions.

    Raises
    ------
    ModelIntegrityError
        sha256 mismatch (names expected and actual) or untrusted types (names them).
    UnsafeModelFormatError
        A pickle/joblib artifact while ``allow_unsafe_pickle`` is false.
    IncompatibleModelError
        Another scikit-learn minor version, unless ``allow_version_mismatch``.
    """
    if fmt not in ("skops", "joblib", "onnx"):
        raise UnsafeModelFormatError(f"{what}: unknown artifact format {fmt!r}")
    if fmt == "onnx":  # a graph for onnxruntime: no Python object is deserialized
        from scorewatch.io import onnx_model

        if expected_sha256 is not None:
            verify_sha256(data, expected_sha256, what=what)
        return onnx_model.load(data, what=what)
    if fmt == "joblib" and not allow_unsafe_pickle:
        raise UnsafeModelFormatError(
            f"{what}: joblib/pickle artifacts can execute code when loaded; refused "
            "(enable allow_unsafe_pickle only for artifacts you produced yourself)"
        )
    if fmt == "joblib" and expected_sha256 is None:
        raise UnsafeModelFormatError(
            f"{what}: a joblib/pickle artifact is only loaded against a known sha256 (the registry's, "
            "or --model-sha256 for a local file); refused"
        )
    if expected_sha256 is not None:
        verify_sha256(data, expected_sha256, what=what)
    if library_versions_recorded:
        check_library_versions(
            library_versions_recorded, what=what, allow_version_mismatch=allow_version_mismatch
        )
    if fmt == "joblib":
        logger.warning("loading a pickle artifact (allow_unsafe_pickle is set)", extra={"model": what})
        import joblib

        # The one explicitly enabled unsafe path: hash-checked above, opt-in only.
        return joblib.load(io.BytesIO(data))
    import skops.io as sio

    refused = untrusted_types(data, what=what)
    if refused:
        raise ModelIntegrityError(
            f"{what}: artifact holds types outside the trusted allowlist "
            f"(scorewatch.io.artifacts.TRUSTED_TYPES): {', '.join(refused)}"
        )
    trusted = sio.get_untrusted_types(data=data)
    try:
        return sio.loads(data, trusted=trusted)
    except Exception as exc:  # skops surfaces many exception types for corrupt files
        raise ModelIntegrityError(f"{what}: cannot deserialize skops artifact: {exc}") from exc


def format_for_path(path: str, *, allowed: Iterable[str] = ("skops", "joblib", "onnx")) -> ArtifactFormat:
    """Artifact format from a file name: ``.skops``, ``.onnx``, or joblib (``.joblib``/``.pkl``)."""
    lower = path.lower()
    if lower.endswith(".onnx") and "onnx" in allowed:
        return "onnx"
    if lower.endswith(".skops") and "skops" in allowed:
        return "skops"
    if lower.endswith((".joblib", ".pkl", ".pickle")) and "joblib" in allowed:
        return "joblib"
    raise UnsafeModelFormatError(
        f"{path}: unsupported model file extension; use .skops or .onnx "
        "(or .joblib/.pkl with --allow-unsafe-pickle)"
    )
