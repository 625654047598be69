"""Schedule cadence: the longest gap between runs of an EventBridge expression, and the stale rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scorewatch.core.cadence import longest_gap, stale_after
from scorewatch.core.config import ModelConfig

H, D = timedelta(hours=1), timedelta(days=1)


@pytest.mark.parametrize(
    ("expr", "gap"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(15 minutes)", timedelta(minutes=15)),
        ("rate(1 hour)", H),
        ("rate(3 days)", 3 * D),
        ("cron(*/15 * * * ? *)", timedelta(minutes=15)),
        ("cron(5/10 * * * ? *)", timedelta(minutes=10)),
        ("cron(0 * * * ? *)", H),
        ("cron(0 6 * * ? *)", D),
        ("cron(0 6,18 * * ? *)", 12 * H),
        ("cron(0 2,3,20 * * ? *)", 17 * H),  # 03:00 -> 20:00 is the longest wait
        ("cron(0 9 ? * MON-FRI *)", 3 * D),  # Friday 09:00 -> Monday 09:00
        ("cron(0 8-17 ? * MON-FRI *)", 2 * D + 15 * H),  # Friday 17:00 -> Monday 08:00
        ("cron(30 2 ? * SUN *)", 7 * D),
        ("cron(0 0 ? * 1 *)", 7 * D),  # EventBridge numbers Sunday 1
        ("cron(0 0 1 * ? *)", 31 * D),  # 1 Jan -> 1 Feb is 31 days
        ("cron(0 12 15 JAN,JUL ? *)", 184 * D),
    ],
)
def test_longest_gap_of_eventbridge_expressions(expr, gap):
    assert longest_gap(expr) == gap


@pytest.mark.parametrize(
    "expr",
    [
        "cron(0 0 L * ? *)",  # last day of the month
        "cron(0 0 ? * 6#3 *)",  # third Friday
        "cron(0 0 1W * ? *)",
        "cron(0 0 * * ? 2027)",  # a year list is not a recurring cadence
        "cron(0 0 * *)",  # too few fields
        "cron(61 * * * ? *)",
        "rate(0 days)",
        "every day",
    ],
)
def test_expressions_it_cannot_evaluate_give_none(expr):
    assert longest_gap(expr) is None


def test_stale_after_is_one_and_a_half_of_the_most_frequent_schedule():
    default = timedelta(hours=24)
    cfg = ModelConfig.model_validate({"name": "m", "schedules": {"scoring": "rate(1 hour)"}})
    assert stale_after(cfg, default) == 1.5 * H  # hourly scoring beats the daily monitoring run
    assert stale_after(ModelConfig(name="m"), default) == 1.5 * D  # the default: monitoring rate(1 day)
    none = ModelConfig.model_validate({"name": "m", "schedules": {"monitoring": None}})
    assert stale_after(none, default) == default  # event-driven only: the caller's default
    odd = ModelConfig.model_validate({"name": "m", "schedules": {"monitoring": "cron(0 0 L * ? *)"}})
    assert stale_after(odd, default) == default
