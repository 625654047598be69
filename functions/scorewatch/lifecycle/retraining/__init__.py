"""The retraining workflow's steps (docs/WORKFLOWS.md): assemble -> train -> evaluate -> promote | reject.

Each step takes and returns a small pydantic model carrying S3 pointers and numbers, never data,
so Step Functions payloads stay far below 256 KB. The state machine (infra) and ``scorewatch
retrain`` (CLI, all steps in one process) call the same :class:`RetrainingSteps`.

- **assemble** takes the per-model ``retraining`` lock (``RetrainingInProgressError`` when another
  run holds it), gathers labeled rows from ``retraining.labeled_prefix`` and/or scored outputs of
  the last ``window_days`` joined with ``labels/<model>/`` (features re-read from each row's
  ``source_uri``), coerces features exactly as scoring does, dedupes by id (latest wins), splits a
  time-based holdout (latest ``holdout_fraction`` of rows) and writes
  ``training/model=<m>/run=<run_id>/{train,holdout}.parquet`` + ``manifest.json`` with row counts
  and sha256.
- **train** fits the challenger from ``retraining.spec`` (seeded), checks calibration on the
  holdout (isotonic calibrator on the card when ECE is high), re-optimises the decision policy on
  the holdout, and registers a ``candidate`` with card, baseline profile and reference sample.
- **evaluate** scores challenger and champion on the same holdout and applies the gate.
- **promote** / **reject** record the decision in the registry (conditional writes), publish
  ``Model Promoted`` / ``Model Rejected`` and release the lock; **notify_failure** publishes
  ``Retraining Failed`` and releases the lock.

The package: ``payloads`` (the steps' pydantic payloads), ``dataset`` (training-run files and the
holdout split), ``base`` (what the steps share), ``assemble``, ``challenger`` (train, evaluate),
``steps`` (approval request, promote, reject, failure, ``run``) and ``approval`` (resuming a run
waiting for a human). It may import the core, ``scorewatch.io``, ``scorewatch.monitoring``,
``scorewatch.scoring`` and the rest of ``scorewatch.lifecycle``; never the CLI, the handlers or infra.
"""

from scorewatch.lifecycle.retraining.approval import decide_approval, performance_classes
from scorewatch.lifecycle.retraining.dataset import MIN_ROWS, ROW_ORDER, TIME_COLUMN, time_split
from scorewatch.lifecycle.retraining.payloads import (
    IN_PROCESS_APPROVAL_REASON,
    LOCK_NAME,
    Approval,
    ApprovalRequestResult,
    ApprovalTask,
    AssembleResult,
    EvaluateResult,
    FailureResult,
    PromoteResult,
    RejectResult,
    RetrainRequest,
    TrainResult,
    run_id_for,
)
from scorewatch.lifecycle.retraining.steps import RetrainingSteps

__all__ = [
    "IN_PROCESS_APPROVAL_REASON",
    "LOCK_NAME",
    "MIN_ROWS",
    "ROW_ORDER",
    "TIME_COLUMN",
    "Approval",
    "ApprovalRequestResult",
    "ApprovalTask",
    "AssembleResult",
    "EvaluateResult",
    "FailureResult",
    "PromoteResult",
    "RejectResult",
    "RetrainRequest",
    "RetrainingSteps",
    "TrainResult",
    "decide_approval",
    "performance_classes",
    "run_id_for",
    "time_split",
]
