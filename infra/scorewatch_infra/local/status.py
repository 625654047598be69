"""What ``scorewatch local status`` shows: recent batches, drift verdicts, executions, alarm states."""

from __future__ import annotations

import sys
from typing import Any


def status_document(cloud: Any) -> dict[str, Any]:
    """What ``scorewatch local status`` shows, from the running cloud."""
    events = [e for _, e in cloud.router.events if e.get("source") != "aws.s3"]
    batches = [e["detail"] for e in events if e["detail-type"] in ("Batch Scored", "Batch Rejected")][-10:]
    drift = [e["detail"] for e in events if e["detail-type"] == "Drift Detected"][-10:]
    return {
        "batches": batches,
        "drift": drift,
        "events": [{"time": e["time"], "detail-type": e["detail-type"]} for e in events[-20:]],
        "executions": [
            {
                "state_machine": x.state_machine,
                "status": x.status,
                "states": list(x.states),
                "started": x.started,
            }
            for x in cloud.executions()[-10:]
        ],
        "alarms": [
            {
                "name": a.name,
                "state": a.state,
                "metric": a.metric,
                "reason": a.reason,
                # Fleet (Metrics Insights) alarms: the models in ALARM and how many report.
                "breaching": list(a.breaching),
                "contributors": a.contributors,
            }
            for a in cloud.alarm_states()
        ],
        "errors": list(cloud.router.errors[-10:]),
    }


def print_status(doc: dict[str, Any], out: Any = None) -> None:
    out = out or sys.stdout
    print("recent batches:", file=out)
    for b in doc["batches"] or [{}]:
        if b:
            print(
                f"  {b.get('batch_id', '?')[:12]} {b.get('model')} v{b.get('version')} "
                f"rows={b.get('rows_scored', b.get('rows_in'))} rejected={b.get('rows_rejected')}",
                file=out,
            )
    print("drift verdicts:", file=out)
    for d in doc["drift"]:
        print(
            f"  {d.get('model')} v{d.get('version')} share={d.get('drift_share')} "
            f"features={d.get('drifted_features')}",
            file=out,
        )
    print("executions:", file=out)
    for x in doc["executions"]:
        print(f"  {x['state_machine']} {x['status']}: {' -> '.join(x['states'])}", file=out)
    states = [a["state"] for a in doc["alarms"]]
    print(
        f"alarms: {states.count('ALARM')} in ALARM, {states.count('OK')} OK, "
        f"{states.count('INSUFFICIENT_DATA')} without data",
        file=out,
    )
    for a in doc["alarms"]:
        if a.get("contributors"):  # one line per fleet concern, its breaching models named
            models = ", ".join(a["breaching"]) or "none"
            print(
                f"  {a['state']} {a['name']} ({a['metric']}): {len(a['breaching'])} of "
                f"{a['contributors']} models breaching: {models}",
                file=out,
            )
        elif a["state"] == "ALARM":
            print(f"  ALARM {a['name']} ({a['metric']}): {a['reason']}", file=out)
    for err in doc["errors"]:
        print(f"error: {err}", file=out)
