"""Hand-written ``to_dict``/``from_dict`` against pydantic's ``TypeAdapter`` on the result dataclasses.

For each dataclass whose dict form reaches a report or a model card, at a realistic size (40
feature columns, 200 calibration knots): whether ``TypeAdapter(T).dump_python(obj, mode="json")``
gives the same JSON bytes as ``obj.to_dict()`` (key order included), and the best per-call time of
each over ``--repeat`` rounds. ``Calibrator.from_dict`` (a float per knot by hand) is compared with
``validate_python``. A TypeAdapter replaces hand-written code only where it gives the same JSON,
is not slower, and the module may import pydantic (the statistics modules import only numeric
libraries, tests/unit/test_boundaries.py).

Usage: ``python benchmarks/bench_serialization.py [--number 20000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))

from scorewatch.monitoring.estimation import Calibrator  # noqa: E402
from scorewatch.monitoring.multivariate import MultivariateResult  # noqa: E402
from scorewatch.monitoring.quality import Violation  # noqa: E402
from scorewatch.monitoring.stattests import TestResult  # noqa: E402


def samples() -> dict[str, Any]:
    cols = tuple(f"feature_{i}" for i in range(40))
    rng = np.random.default_rng(0)
    knots = np.sort(rng.uniform(size=(2, 200)), axis=1)
    return {
        "MultivariateResult": MultivariateResult(
            0.71, 0.6, True, 3000, 3000, cols, tuple((c, 0.5 + i / 100) for i, c in enumerate(cols[:25]))
        ),
        "Violation": Violation(
            "completeness_check", "age", "age: 7.0% missing (baseline 1.0%)", "error", 0.07, 0.06
        ),
        "TestResult": TestResult("ks", 0.12, 1e-5, None, 0.05, True),
        "Calibrator": Calibrator(tuple(map(float, knots[0])), tuple(map(float, knots[1]))),
    }


def best_us(fn: Callable[[], Any], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"{'to_dict':<20} {'same JSON':>9} {'by hand µs':>11} {'TypeAdapter µs':>15}")
    for name, obj in samples().items():
        adapter = TypeAdapter(type(obj))
        same = json.dumps(obj.to_dict()) == json.dumps(adapter.dump_python(obj, mode="json"))
        hand = best_us(obj.to_dict, args.number, args.repeat)
        lib = best_us(lambda a=adapter, o=obj: a.dump_python(o, mode="json"), args.number, args.repeat)
        print(f"{name:<20} {'yes' if same else 'no':>9} {hand:>11.2f} {lib:>15.2f}")
    card = samples()["Calibrator"].to_dict()
    adapter = TypeAdapter(Calibrator)
    assert adapter.validate_python(card) == Calibrator.from_dict(card)
    n = max(1, args.number // 4)
    hand = best_us(lambda: Calibrator.from_dict(card), n, args.repeat)
    lib = best_us(lambda: adapter.validate_python(card), n, args.repeat)
    print(f"{'Calibrator.from_dict':<20} {'yes':>9} {hand:>11.2f} {lib:>15.2f}")


if __name__ == "__main__":
    main()
