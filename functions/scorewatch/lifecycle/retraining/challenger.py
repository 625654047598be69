"""The train and evaluate steps: fit the challenger, register it, compare it with the champion."""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa

from scorewatch.core.cards import DataRef
from scorewatch.core.errors import (
    TrainingError,
)
from scorewatch.lifecycle.gate import evaluate_gate
from scorewatch.lifecycle.retraining.approval import performance_classes
from scorewatch.lifecycle.retraining.base import StepsBase
from scorewatch.lifecycle.retraining.payloads import AssembleResult, EvaluateResult, TrainResult
from scorewatch.monitoring import estimation, performance
from scorewatch.scoring.decisions import optimise_policy, policy_from_card

logger = logging.getLogger(__name__)


class ChallengerSteps(StepsBase):
    """``train`` and ``evaluate``."""

    def train(self, assembled: AssembleResult) -> TrainResult:
        """Fit the challenger, check calibration, tune the decision policy, register a candidate.

        Raises
        ------
        TrainingError
            The spec is refused or fitting fails.
        """
        from scorewatch.lifecycle.training import train_model  # lazy: estimators load only in the train step
        from scorewatch.monitoring.profiles import ProfileBuilder
        from scorewatch.scoring.scorer import predict_frame

        model = assembled.model_name
        mc = self._mc(model)
        card, _ = self._reference_card(model)
        schema = self._training_schema(mc, card)  # the configuration's schema wins (docs: precedence)
        now = self.now()
        X, y = self._read_split(assembled.train_uri, card, schema)
        Xh, yh = self._read_split(assembled.holdout_uri, card, schema)
        trained = train_model(
            mc.retraining.spec,
            X,
            y,
            task=card.task,
            schema=schema,
            random_state=mc.retraining.random_state,
            spec_explicit="spec" in mc.retraining.model_fields_set,
        )
        classes = card.classes
        if card.task != "regression":
            classes = tuple(performance_classes(trained.estimator, card))
        out_train = predict_frame(trained.estimator, X, task=card.task, classes=classes)
        out_hold = predict_frame(trained.estimator, Xh, task=card.task, classes=classes)
        holdout_perf = performance.realized_performance(
            card.task, yh, out_hold, classes=classes, positive_class=mc.positive_class
        )
        metrics = {k: v for k, v in holdout_perf.metrics.items() if v is not None}
        policy = None
        if card.task == "binary":
            if not classes:
                raise TrainingError(f"binary model {card.model_name!r} has no classes on its card")
            pos = classes[-1]
            if mc.positive_class is not None:
                pos = performance.align_labels([mc.positive_class], classes).iloc[0]
                if pos is None:
                    raise TrainingError(
                        f"positive_class {mc.positive_class!r} is not one of the classes {classes}"
                    )
            y_bin = (yh == pos).astype(int).to_numpy()
            p = out_hold[f"{performance.SCORE_PREFIX}{pos}"].to_numpy(dtype=float)
            base_policy = mc.decision or policy_from_card(card.decision_policy)
            if base_policy is not None:
                policy, numbers = optimise_policy(base_policy, y_bin, p)
                metrics.update(numbers)
        # Performance estimation without labels is fitted on the holdout (rows the challenger
        # was not trained on), its calibration / loss models checked on a separate part of it.
        reference = estimation.fit_reference(
            card.task,
            yh,
            out_hold,
            features=Xh,
            classes=classes,
            positive_class=mc.positive_class,
            categorical=[f.name for f in schema.features if f.type != "numeric"],
            random_state=mc.retraining.random_state,
        )
        calibration, calibrator, estimated = reference.card_fields() if reference else (None, None, None)
        loss_models = reference.loss_models.to_state() if reference and reference.loss_models else None
        builder = ProfileBuilder(
            schema,
            score_columns=tuple(out_train.columns),
            random_state=mc.retraining.random_state,
        )
        builder.update(X, out_train)
        profile, sample = builder.finish()
        new = self.registry.register(
            model,
            trained.estimator,
            task=card.task,
            feature_schema=schema,
            now=now,
            target=mc.target or card.target,
            classes=classes,
            metrics=metrics,
            params={
                **trained.params,
                "dropped_features": list(trained.dropped_features),
                "run_id": assembled.run_id,
            },
            training_data=DataRef(
                uri=assembled.train_uri,
                sha256=assembled.data_sha256,
                rows=assembled.rows,
                holdout_rows=assembled.holdout_rows,
            ),
            parent_version=assembled.champion_version,
            baseline_profile=profile.to_dict(),
            baseline_sample=pa.Table.from_pandas(sample, preserve_index=False) if len(sample) else None,
            calibration=calibration,
            calibrator=calibrator,
            estimation=estimated,
            loss_models=loss_models,
            decision_policy=policy,
            description=f"retrained by {assembled.execution_id} ({assembled.reason})",
        )
        logger.info(
            "challenger registered", extra={"model": model, "version": new.version, "metrics": metrics}
        )
        return TrainResult(**assembled.model_dump(), candidate_version=new.version)

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, trained: TrainResult) -> EvaluateResult:
        """Score challenger and champion on the same holdout and apply the gate."""
        from scorewatch.scoring.scorer import predict_frame

        model = trained.model_name
        mc = self._mc(model)
        challenger = self.registry.load(model, trained.candidate_version)
        card = challenger.card
        metric = mc.retraining.metric or performance.default_metric(card.task)

        def _metrics(loaded: Any) -> dict[str, float | None]:
            # each version reads the holdout through its own schema (a configured schema may
            # have changed the challenger's features): same rows, each model's inputs
            X, y = self._read_split(trained.holdout_uri, loaded.card)
            out = predict_frame(loaded.estimator, X, task=loaded.card.task, classes=loaded.card.classes)
            return performance.realized_performance(
                loaded.card.task, y, out, classes=loaded.card.classes, positive_class=mc.positive_class
            ).metrics

        chal = _metrics(challenger)
        champ = (
            _metrics(self.registry.load(model, trained.champion_version))
            if trained.champion_version
            else None
        )
        comparison = evaluate_gate(
            metric=metric,
            challenger=chal,
            champion=champ,
            min_improvement=mc.retraining.min_improvement,
            floor=mc.retraining.floor,
            guards=mc.retraining.guards,
        )
        logger.info(
            "challenger evaluated",
            extra={"model": model, "passed": comparison.passed, "reasons": list(comparison.reasons)},
        )
        return EvaluateResult(
            **trained.model_dump(),
            metric=metric,
            challenger_score=comparison.challenger,
            champion_score=comparison.champion,
            passed=comparison.passed,
            reasons=list(comparison.reasons),
            comparison=comparison,
            approval_required=mc.retraining.approval_required,
            approval_timeout_seconds=mc.retraining.approval_timeout_hours * 3600,
        )
