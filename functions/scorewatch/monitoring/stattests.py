"""Two-sample drift tests: small pure functions with one signature and one frozen result.

Every test is ``test(reference, current, *, threshold) -> TestResult``. Sample tests (``ks``,
``wasserstein``) take raw values; count tests (``psi``, ``jensenshannon``, ``hellinger``,
``chisquare``, ``z``, ``unseen_share``) take two count vectors aligned on the same bins or
categories, so they run on stored profiles without re-reading the reference data.

Definitions follow Evidently's stattests (0.7.x) so results compare one to one:

- ``ks``: ``scipy.stats.ks_2samp`` p-value; drift when ``p <= threshold`` (0.05).
- ``wasserstein``: Wasserstein-1 distance (same value as ``scipy.stats.wasserstein_distance``)
  ``/ max(std(reference), 0.001)`` (population
  std); drift when ``>= threshold`` (0.1).
- ``psi``: ``sum((p - q) * ln(p / q))``; an empty bin's share is replaced by
  ``min(non-zero share) / 1e6`` when the smallest non-zero share is <= 1e-4, else by ``1e-4``
  (Evidently's ``feel_zeroes``), separately for each side; drift when ``>= threshold`` (0.1).
- ``jensenshannon``: ``scipy.spatial.distance.jensenshannon`` (natural log, so in
  ``[0, sqrt(ln 2)]``), no epsilon; drift when ``>= threshold`` (0.1).
- ``hellinger``: ``sqrt(1 - sum(sqrt(p q)))``; drift when ``>= threshold`` (0.1).
- ``chisquare``: ``scipy.stats.chisquare(current, reference * n_cur / n_ref)``; drift when
  ``p < threshold`` (0.05). A category absent from the reference but present in the current data
  gives an infinite statistic and p = 0.
- ``z``: two-proportion z-test (pooled variance), two-sided; drift when ``p < threshold`` (0.05).
- ``unseen_share``: share of current values in categories the reference never had; drift when
  ``>= threshold`` (default 0.05).

Non-finite values are dropped from samples (as Evidently does). An empty side gives a result with
``reason`` set, ``drifted=False`` and no score, never a NaN verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from scorewatch.core.errors import MonitoringInputError

TestKind = Literal["pvalue", "distance"]
InputKind = Literal["sample", "counts"]


@dataclass(frozen=True)
class TestResult:
    """Outcome of one drift test.

    ``statistic`` is the test's raw statistic (KS D, chi-square, z, or the distance itself);
    exactly one of ``pvalue`` / ``distance`` is set when the test ran; ``reason`` says why it could
    not run (then ``drifted`` is False and both are None).
    """

    __test__ = False  # not a pytest test class

    test: str
    statistic: float | None
    pvalue: float | None
    distance: float | None
    threshold: float
    drifted: bool
    reason: str | None = None

    @property
    def kind(self) -> TestKind:
        return TESTS[self.test].kind

    @property
    def score(self) -> float | None:
        """The value compared with the threshold (p-value or distance)."""
        return self.pvalue if self.pvalue is not None else self.distance

    @property
    def severity(self) -> float:
        """How far past its threshold: >= 1 means drifted; comparable across tests (for sorting)."""
        if self.reason is not None or self.score is None:
            return 0.0
        if self.pvalue is not None:
            return pvalue_severity(self.pvalue, self.threshold)
        return self.distance / self.threshold if self.distance is not None else 0.0

    def to_dict(self) -> dict[str, Any]:
        # Hand-written: adds ``kind``, nulls non-finite values; pydantic's TypeAdapter dump of the
        # fields alone takes 0.8 µs against 0.4 µs (benchmarks/bench_serialization.py).
        return {
            "test": self.test,
            "kind": self.kind,
            "statistic": _finite_or_none(self.statistic),
            "pvalue": _finite_or_none(self.pvalue),
            "distance": _finite_or_none(self.distance),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "reason": self.reason,
        }


def pvalue_drifted(test: str, pvalue: float, threshold: float) -> bool:
    """The verdict of p-value test ``test`` at ``pvalue``: ``ks`` drifts at ``p <= threshold``,
    ``chisquare`` and ``z`` at ``p < threshold`` (Evidently's comparisons)."""
    return pvalue <= threshold if test == "ks" else pvalue < threshold


def pvalue_severity(pvalue: float, threshold: float) -> float:
    """``log10(p) / log10(threshold)``: 1 at the threshold, larger the smaller ``p`` (for sorting)."""
    p = max(pvalue, 1e-300)
    return math.log10(p) / math.log10(threshold) if threshold < 1 else 0.0


def _finite_or_none(x: float | None) -> float | None:
    """JSON has no NaN/Infinity: a non-finite statistic (chi-square with an unseen category) is null."""
    return None if x is None or not math.isfinite(x) else float(x)


def _skipped(test: str, threshold: float, reason: str) -> TestResult:
    return TestResult(test, None, None, None, threshold, False, reason)


def _sample(values: Any, side: str, test: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise MonitoringInputError(f"{test}: {side} sample is not numeric: {exc}") from exc
    finite: np.ndarray = arr[np.isfinite(arr)]  # a new array: callers may sort it in place
    return finite


def _counts(values: Any, side: str, test: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise MonitoringInputError(f"{test}: {side} counts are not numbers: {exc}") from exc
    if arr.ndim != 1:
        raise MonitoringInputError(f"{test}: {side} counts must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise MonitoringInputError(f"{test}: {side} counts must be finite and >= 0, got {arr.tolist()[:20]}")
    return arr


def _pair(reference: Any, current: Any, test: str) -> tuple[np.ndarray, np.ndarray]:
    ref, cur = _counts(reference, "reference", test), _counts(current, "current", test)
    if ref.shape != cur.shape:
        raise MonitoringInputError(
            f"{test}: reference and current counts are not aligned ({ref.size} vs {cur.size} bins)"
        )
    return ref, cur


def _empty_sample_reason(ref: np.ndarray, cur: np.ndarray) -> str | None:
    if ref.size == 0:
        return "reference has no finite values"
    if cur.size == 0:
        return "current has no finite values"
    return None


def _empty_reason(ref: np.ndarray, cur: np.ndarray) -> str | None:
    """Count vectors that are all zero hold no values."""
    if ref.size == 0 or not np.any(ref):
        return "reference has no values"
    if cur.size == 0 or not np.any(cur):
        return "current has no values"
    return None


def fill_zero_shares(shares: np.ndarray) -> np.ndarray:
    """Evidently's ``feel_zeroes``: empty shares become min(non-zero)/1e6 if that min <= 1e-4, else 1e-4."""
    out = shares.copy()
    nonzero = out[out != 0]
    if nonzero.size == 0:
        return out
    smallest = float(nonzero.min())
    out[out == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out


# ----------------------------------------------------------------------------------------------
# sample tests


def wasserstein_distance(u: np.ndarray, v: np.ndarray) -> float:
    """Wasserstein-1 distance of two samples via their quantile functions (equals
    ``scipy.stats.wasserstein_distance`` up to rounding, about 3x faster: two sorts and a merge of the
    breakpoints ``i/n`` and ``j/m`` instead of sorting the pooled sample and two searches).

    ``W = integral over t in (0, 1] of |Q_u(t) - Q_v(t)|``; between consecutive breakpoints both
    quantile functions are constant.
    """
    return _wasserstein_sorted(np.sort(u), np.sort(v))


def _wasserstein_sorted(us: np.ndarray, vs: np.ndarray) -> float:
    """:func:`wasserstein_distance` of two samples already sorted ascending."""
    n, m = us.size, vs.size
    if n == m:
        return float(np.mean(np.abs(us - vs)))
    # Breakpoints scaled by n*m are the integers i*m (i=1..n) and j*n (j=1..m): merge them.
    a = np.arange(1, n + 1, dtype=np.int64) * m
    b = np.arange(1, m + 1, dtype=np.int64) * n
    merged = np.empty(n + m, dtype=np.int64)
    pos_a = np.arange(n) + np.searchsorted(b, a, side="left")
    mask = np.ones(n + m, dtype=bool)
    mask[pos_a] = False
    merged[pos_a] = a
    merged[mask] = b
    widths = np.diff(merged, prepend=0)
    idx_u = (merged + m - 1) // m - 1  # Q_u on (t_{k-1}, t_k] is us[ceil(t_k * n) - 1]
    idx_v = (merged + n - 1) // n - 1
    return float(np.dot(widths, np.abs(us[idx_u] - vs[idx_v])) / (n * m))


def ks_test(reference: Any, current: Any, *, threshold: float = 0.05) -> TestResult:
    """Two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``, two-sided, method ``auto``).

    Parameters
    ----------
    reference, current : array-like of float
        Raw values; non-finite ones are dropped.
    threshold : float
        Significance level: drift when ``pvalue <= threshold``.

    Returns
    -------
    TestResult
        ``statistic`` is D, ``pvalue`` its p-value.

    Examples
    --------
    >>> ks_test([1, 2, 3, 4], [1, 2, 3, 4]).pvalue
    1.0
    """
    ref, cur = _sample(reference, "reference", "ks"), _sample(current, "current", "ks")
    return ks_sorted(ref, cur, threshold=threshold)


def ks_sorted(reference: np.ndarray, current: np.ndarray, *, threshold: float = 0.05) -> TestResult:
    """:func:`ks_test` of two samples of finite floats (sorted or not: scipy sorts them again, which
    costs one pass over data already in order)."""
    if reason := _empty_sample_reason(reference, current):
        return _skipped("ks", threshold, reason)
    from scipy import stats  # imported when a KS test runs: ~1 s of a cold start otherwise

    res = stats.ks_2samp(reference, current)
    p = float(res.pvalue)
    return TestResult("ks", float(res.statistic), p, None, threshold, p <= threshold)


def wasserstein_test(reference: Any, current: Any, *, threshold: float = 0.1) -> TestResult:
    """Wasserstein-1 distance normalised by the reference's population std (floored at 0.001).

    Examples
    --------
    >>> wasserstein_test([0.0, 1.0], [1.0, 2.0]).distance  # W = 1, std = 0.5
    2.0
    """
    ref, cur = _sample(reference, "reference", "wasserstein"), _sample(current, "current", "wasserstein")
    # _sample returned fresh arrays (a boolean mask always copies): sort them in place, once per side
    ref.sort()
    cur.sort()
    return wasserstein_sorted(ref, cur, threshold=threshold)


def wasserstein_sorted(
    reference: np.ndarray, current: np.ndarray, *, threshold: float = 0.1, reference_std: float | None = None
) -> TestResult:
    """:func:`wasserstein_test` of two samples of finite floats already sorted ascending.

    ``reference_std`` is ``np.std(reference)`` when the caller has it (a one-chunk profile's
    ``sqrt(m2 / count)`` of the same values is that number bit for bit: the same mean, the same
    sum of squared deviations); computed here otherwise.
    """
    if reason := _empty_sample_reason(reference, current):
        return _skipped("wasserstein", threshold, reason)
    std = float(np.std(reference)) if reference_std is None else reference_std
    norm = max(std, 0.001)
    d = _wasserstein_sorted(reference, current) / norm
    return TestResult("wasserstein", d, None, d, threshold, d >= threshold)


#: The sample tests on sorted finite values (what :func:`ks_test` / :func:`wasserstein_test` run
#: after dropping non-finite values and sorting).
SORTED_SAMPLE_TESTS: Mapping[str, Callable[..., TestResult]] = {
    "ks": ks_sorted,
    "wasserstein": wasserstein_sorted,
}


# ----------------------------------------------------------------------------------------------
# count tests


def psi_test(reference: Any, current: Any, *, threshold: float = 0.1) -> TestResult:
    """Population stability index of two aligned count vectors (see the module docstring).

    Examples
    --------
    >>> psi_test([10, 20, 30], [10, 20, 30]).distance
    0.0
    """
    ref, cur = _pair(reference, current, "psi")
    if reason := _empty_reason(ref, cur):
        return _skipped("psi", threshold, reason)
    p = fill_zero_shares(ref / ref.sum())
    q = fill_zero_shares(cur / cur.sum())
    value = float(np.sum((p - q) * np.log(p / q)))
    return TestResult("psi", value, None, value, threshold, value >= threshold)


def jensenshannon_test(reference: Any, current: Any, *, threshold: float = 0.1) -> TestResult:
    """Jensen-Shannon distance (natural log) of two aligned count vectors.

    Examples
    --------
    >>> bool(abs(jensenshannon_test([1, 0], [0, 1]).distance ** 2 - np.log(2)) < 1e-12)
    True
    """
    ref, cur = _pair(reference, current, "jensenshannon")
    if reason := _empty_reason(ref, cur):
        return _skipped("jensenshannon", threshold, reason)
    d = max(_jensenshannon(ref / ref.sum(), cur / cur.sum()), 0.0)
    return TestResult("jensenshannon", d, None, d, threshold, d >= threshold)


def _jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    """``scipy.spatial.distance.jensenshannon(p, q)`` (natural log) for two distributions, in numpy.

    The same steps as scipy's (normalise, midpoint, ``rel_entr`` summed per side), so the value
    agrees to rounding without importing scipy at a cold start.
    """
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2.0

    def rel_entr(x: np.ndarray) -> float:  # scipy.special.rel_entr(x, m), m > 0 wherever x > 0
        pos = x > 0
        terms = np.zeros_like(x)
        terms[pos] = x[pos] * np.log(x[pos] / m[pos])
        return float(np.sum(terms))  # summed over every entry, in scipy's order

    return float(np.sqrt((rel_entr(p) + rel_entr(q)) / 2.0))


def _two_sided_normal_p(z: float) -> float:
    """``2 * scipy.stats.norm.sf(|z|)`` = ``erfc(|z| / sqrt(2))``, without importing scipy.stats."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def hellinger_test(reference: Any, current: Any, *, threshold: float = 0.1) -> TestResult:
    """Hellinger distance ``sqrt(1 - sum(sqrt(p q)))`` of two aligned count vectors.

    Examples
    --------
    >>> hellinger_test([1, 0], [0, 1]).distance
    1.0
    """
    ref, cur = _pair(reference, current, "hellinger")
    if reason := _empty_reason(ref, cur):
        return _skipped("hellinger", threshold, reason)
    bc = float(np.clip(np.sum(np.sqrt((ref / ref.sum()) * (cur / cur.sum()))), 0.0, 1.0))
    d = math.sqrt(1.0 - bc)
    return TestResult("hellinger", d, None, d, threshold, d >= threshold)


def chisquare_test(reference: Any, current: Any, *, threshold: float = 0.05) -> TestResult:
    """Chi-square goodness of fit of the current counts to the reference proportions (Evidently's).

    Categories empty on both sides are ignored; a single category means identical distributions
    (statistic 0, p = 1); a category seen only in the current data gives statistic inf and p = 0.

    Examples
    --------
    >>> r = chisquare_test([50, 50], [30, 70])
    >>> round(r.statistic, 6), r.drifted
    (16.0, True)
    """
    ref, cur = _pair(reference, current, "chisquare")
    if reason := _empty_reason(ref, cur):
        return _skipped("chisquare", threshold, reason)
    keep = (ref > 0) | (cur > 0)
    ref, cur = ref[keep], cur[keep]
    if ref.size < 2:
        return TestResult("chisquare", 0.0, 1.0, None, threshold, False)
    f_exp = ref * (cur.sum() / ref.sum())
    if np.any((f_exp == 0) & (cur > 0)):
        return TestResult("chisquare", math.inf, 0.0, None, threshold, True)
    from scipy import stats  # imported when a chi-square test runs

    res = stats.chisquare(cur, f_exp)
    p = float(res.pvalue)
    return TestResult("chisquare", float(res.statistic), p, None, threshold, p < threshold)


def z_test(reference: Any, current: Any, *, threshold: float = 0.05) -> TestResult:
    """Two-proportion z-test for a column with at most two values (pooled variance, two-sided).

    ``reference`` and ``current`` are counts of the (at most) two values in the same order.

    Examples
    --------
    >>> round(z_test([50, 50], [50, 50]).pvalue, 12)
    1.0
    """
    ref, cur = _pair(reference, current, "z")
    if ref.size > 2:
        raise MonitoringInputError(f"z: the z-test needs at most 2 categories, got {ref.size}")
    if reason := _empty_reason(ref, cur):
        return _skipped("z", threshold, reason)
    if ref.size < 2:
        return TestResult("z", 0.0, 1.0, None, threshold, False)
    n1, n2 = float(ref.sum()), float(cur.sum())
    p1, p2 = ref[1] / n1, cur[1] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    if pooled in (0.0, 1.0):  # one value on both sides: nothing differs
        return TestResult("z", 0.0, 1.0, None, threshold, False)
    z = float((p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2)))
    p = _two_sided_normal_p(z)
    return TestResult("z", z, p, None, threshold, p < threshold)


def unseen_share_test(reference: Any, current: Any, *, threshold: float = 0.05) -> TestResult:
    """Share of current values falling in categories whose reference count is 0.

    Examples
    --------
    >>> unseen_share_test([5, 5, 0], [5, 3, 2]).distance
    0.2
    """
    ref, cur = _pair(reference, current, "unseen_share")
    if reason := _empty_reason(ref, cur):
        return _skipped("unseen_share", threshold, reason)
    share = float(cur[ref == 0].sum() / cur.sum())
    return TestResult("unseen_share", share, None, share, threshold, share >= threshold)


# ----------------------------------------------------------------------------------------------
# registry and alignment helpers


@dataclass(frozen=True)
class StatTest:
    """A registered test: its function, what it returns and what it takes."""

    name: str
    func: Callable[..., TestResult]
    kind: TestKind
    input: InputKind
    default_threshold: float
    applies_to: tuple[str, ...]


TESTS: Mapping[str, StatTest] = {
    t.name: t
    for t in (
        StatTest("ks", ks_test, "pvalue", "sample", 0.05, ("numeric",)),
        StatTest("wasserstein", wasserstein_test, "distance", "sample", 0.1, ("numeric",)),
        StatTest("psi", psi_test, "distance", "counts", 0.1, ("numeric", "categorical")),
        StatTest("jensenshannon", jensenshannon_test, "distance", "counts", 0.1, ("numeric", "categorical")),
        StatTest("hellinger", hellinger_test, "distance", "counts", 0.1, ("numeric", "categorical")),
        StatTest("chisquare", chisquare_test, "pvalue", "counts", 0.05, ("numeric", "categorical")),
        StatTest("z", z_test, "pvalue", "counts", 0.05, ("numeric", "categorical")),
        StatTest("unseen_share", unseen_share_test, "distance", "counts", 0.05, ("categorical",)),
    )
}


def get_test(name: str) -> StatTest:
    """The registered test called ``name``; MonitoringInputError listing the known names otherwise."""
    try:
        return TESTS[name]
    except KeyError as exc:
        raise MonitoringInputError(f"unknown drift test {name!r}; known: {sorted(TESTS)}") from exc


def align_counts(
    reference: Mapping[Any, int], current: Mapping[Any, int]
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Union of keys (reference order first, then new keys sorted) and the two aligned count vectors."""
    keys = list(reference)
    seen = set(keys)
    keys += sorted((k for k in current if k not in seen), key=str)
    ref = np.array([reference.get(k, 0) for k in keys], dtype=float)
    cur = np.array([current.get(k, 0) for k in keys], dtype=float)
    return keys, ref, cur


def value_counts(values: Sequence[Any] | np.ndarray) -> dict[Any, int]:
    """Counts of the finite values of a numeric sample (for discrete columns)."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    u, c = np.unique(arr, return_counts=True)
    return dict(zip(u.tolist(), c.tolist(), strict=True))
