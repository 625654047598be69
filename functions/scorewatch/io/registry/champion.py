"""The champion pointer and status changes: promote, rollback, repair, reject, archive.

The pointer is the item ``champion#<model>`` / ``#champion``, in a partition of its own so that no
role writing versions or control items can reach it (IAM scopes those roles with
``dynamodb:LeadingKeys``). It holds ``champion``, the ``history`` of earlier champions, ``rev``,
and pins the champion's content: ``card`` (the version item's card JSON at promotion, which reads
of the champion use) and ``pins`` (sha256 of each recorded champion's card JSON, checked on
rollback). Promotion and rollback move it with a conditional write on ``rev`` (the one point
deciding a race: exactly one champion however many promotions race), then flip the new and
previous champions' status items together in one TransactWriteItems. Readers derive "champion"
from the pointer.

Status transitions are explicit: candidate -> champion | rejected, champion -> archived (when
another version is promoted), and archived -> champion by rollback to the previous champion.
Anything else (promoting a rejected or archived version, archiving a candidate) needs
``force=True`` and a reason, recorded in the version's ``status_history``. Before the pointer
moves, the version's artifact is fetched and loaded (sha256, then the skops allowlist) and its
baseline checked against its pins, so a version that cannot score is never made champion.
"""

from __future__ import annotations

import hashlib
import random
import time
from datetime import datetime
from typing import Any

from scorewatch.core.cards import Comparison, ModelCard, Status, StatusChange
from scorewatch.core.errors import (
    ModelError,
    ModelIntegrityError,
    ModelNotFoundError,
    PromotionConflictError,
    StatusTransitionError,
)
from scorewatch.core.schema import check_model_name
from scorewatch.io import artifacts
from scorewatch.io.registry.base import format_version, is_conditional_failure, logger
from scorewatch.io.registry.marshalling import (
    CHAMPION,
    PK,
    SK,
    key,
    marshal,
    pointer_champion,
    pointer_history,
    pointer_partition,
    pointer_rev,
)
from scorewatch.io.registry.versions import LEGACY, Versions

_HISTORY_MAX = 50
_PROMOTE_ATTEMPTS = 10
# The lifecycle's own transitions; any other needs force and a reason.
TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {("candidate", "champion"), ("candidate", "rejected"), ("champion", "archived")}
)


def _digest(card_json: str) -> str:
    return hashlib.sha256(card_json.encode()).hexdigest()


def check_transition(what: str, current: str, to: Status, *, force: bool, reason: str | None) -> bool:
    """True if ``current -> to`` is forced (allowed only with a reason); False if it is a lifecycle step.

    Raises
    ------
    StatusTransitionError
        Not a lifecycle transition and not forced, or forced without a reason.
    """
    if (current, to) in TRANSITIONS:
        return False
    if not force:
        raise StatusTransitionError(
            f"{what} is {current}: {current} -> {to} is not a lifecycle transition (candidate -> "
            "champion | rejected, champion -> archived); force it with a reason (CLI: --force --reason)"
        )
    if not (reason and reason.strip()):
        raise StatusTransitionError(f"{what}: forcing {current} -> {to} needs a reason (--reason)")
    return True


class Champion(Versions):
    """Moving the champion pointer and recording non-champion statuses."""

    def _status_update(
        self,
        model_name: str,
        version: str,
        sets: dict[str, str | None],
        change: StatusChange | None = None,
    ) -> dict[str, Any]:
        """A TransactWriteItems ``Update`` setting ``sets`` (None -> NULL) and appending ``change``."""
        names = {"#sk": SK}
        exprs = []
        attr_values: dict[str, Any] = {}
        for i, (field, value) in enumerate(sets.items()):
            names[f"#f{i}"] = field
            attr_values[f":f{i}"] = value
            exprs.append(f"#f{i} = :f{i}")
        if change is not None:
            names["#hist"] = "status_history"
            attr_values[":none"] = []
            attr_values[":change"] = [change.model_dump_json()]
            exprs.append("#hist = list_append(if_not_exists(#hist, :none), :change)")
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": key(model_name, version),
                "UpdateExpression": "SET " + ", ".join(exprs),
                "ConditionExpression": "attribute_exists(#sk)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": marshal(attr_values),
            }
        }

    def _pointer_write(
        self,
        model_name: str,
        pointer: dict[str, Any] | None,
        champion: str,
        *,
        history: list[str],
        card_json: str,
        now: datetime,
        unconditional: bool = False,
    ) -> dict[str, Any]:
        """A ``Put`` of the pointer at ``champion``, conditional on the ``rev`` that was read.

        ``unconditional`` (repair only) replaces whatever item is there, however damaged.
        """
        rev = pointer_rev(pointer) if not unconditional else _safe_rev(pointer)
        history = history[-_HISTORY_MAX:]
        old_pins = _pins(pointer)
        pins = {v: old_pins[v] for v in history if v in old_pins}
        pins[champion] = _digest(card_json)
        item = {
            PK: pointer_partition(model_name),
            SK: CHAMPION,
            "champion": champion,
            "history": history,
            "rev": rev + 1,
            "card": card_json,
            "pins": pins,
            "updated_at": now.isoformat(),
        }
        cond: dict[str, Any]
        if unconditional:
            cond = {}
        elif pointer is None or pointer.get(LEGACY):
            cond = {
                "ConditionExpression": "attribute_not_exists(#sk)",
                "ExpressionAttributeNames": {"#sk": SK},
            }
        else:
            cond = {
                "ConditionExpression": "#rev = :rev",
                "ExpressionAttributeNames": {"#rev": "rev"},
                "ExpressionAttributeValues": marshal({":rev": rev}),
            }
        return {"Put": {"TableName": self.table_name, "Item": marshal(item), **cond}}

    def _move_champion(
        self,
        model_name: str,
        pointer: dict[str, Any] | None,
        *,
        new: str,
        card_json: str,
        history: list[str],
        old: str | None,
        sets: dict[str, str | None],
        change: StatusChange,
        now: datetime,
        unconditional: bool = False,
    ) -> bool:
        """Point the champion at ``new`` (False if the pointer changed since it was read).

        The conditional write of the pointer (on its ``rev``) is the single point that decides a
        race: there is exactly one champion whatever happens next. The version items' statuses
        (new champion, archived predecessor) then change together in one TransactWriteItems.
        Readers derive "champion" from the pointer, so a crash between the two steps, or an
        emulator whose failed transactions are not isolated (moto restores a table snapshot),
        never shows two champions.
        """
        from botocore.exceptions import ClientError

        put = self._pointer_write(
            model_name,
            pointer,
            new,
            history=history,
            card_json=card_json,
            now=now,
            unconditional=unconditional,
        )["Put"]
        with self._aws(f"moving the champion of {model_name} to {new}"):
            try:
                self._ddb.put_item(**put)
            except ClientError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        items = [self._status_update(model_name, new, sets, change)]
        if old and old != new:
            retired = StatusChange(
                from_status="champion",
                to_status="archived",
                at=now,
                by=change.by,
                reason=f"replaced by {new}",
            )
            items.append(
                self._status_update(
                    model_name, old, {"status": "archived", "archived_at": now.isoformat()}, retired
                )
            )
        if not self._transact(items, what=f"recording {model_name} champion {new}"):
            logger.warning("champion status items not updated", extra={"model": model_name, "version": new})
        return True

    def _verify_scorable(self, card: ModelCard, *, action: str) -> None:
        """Fetch and load ``card``'s pinned artifact (sha256, allowlist) and check its baseline pins.

        Uncached on purpose: a cached estimator would hide an artifact deleted since it was loaded.
        """
        what = f"{card.model_name}@{card.version}"
        try:
            data = self._get_object(card.artifact.key, what=what, version_id=card.artifact.version_id)
            artifacts.load_artifact(
                data,
                fmt=card.artifact.format,
                expected_sha256=card.artifact.sha256,
                what=what,
                library_versions_recorded=card.library_versions,
                allow_unsafe_pickle=self.allow_unsafe_pickle,
                allow_version_mismatch=self.allow_version_mismatch,
            )
            self.verify_baseline(card)
        except ModelError as exc:
            raise type(exc)(f"cannot {action} {what}: {exc}") from exc

    def _read_version(self, model_name: str, version: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The version item (with a card) and the pointer, read together."""
        item = self._get_item(model_name, version)
        pointer = self._champion_pointer(model_name)
        if item is None or "card" not in item:
            raise ModelNotFoundError(f"model {model_name!r} has no version {version}")
        return item, pointer

    def promote(
        self,
        model_name: str,
        version: str | int,
        *,
        now: datetime,
        promoted_by: str,
        comparison: Comparison | None = None,
        expected_champion: Any = ...,
        force: bool = False,
        reason: str | None = None,
    ) -> ModelCard:
        """Make ``version`` the champion (conditional pointer write); the previous champion is archived.

        Parameters
        ----------
        expected_champion : str, None or ... (default)
            ``...``: whatever the champion is (a lost race is retried against the new state).
            ``None``: only if the model has no champion. A version: only if it is still champion.
        force, reason : bool, str
            Promote a ``rejected`` or ``archived`` version anyway; the reason is recorded in its
            ``status_history``.

        Returns
        -------
        ModelCard
            The new champion's card (``previous_champion`` names the version it replaced).

        Raises
        ------
        StatusTransitionError
            The version is rejected or archived and ``force``/``reason`` were not given.
        ModelNotFoundError
            No such version, or its pinned artifact (or baseline) object is gone.
        ModelIntegrityError
            Its artifact or baseline does not match its sha256, or holds untrusted types.
        PromotionConflictError
            The champion is not ``expected_champion`` (or changed during the write).
        """
        check_model_name(model_name)
        version = format_version(version)
        if expected_champion not in (..., None):
            expected_champion = format_version(expected_champion)
        attempts = _PROMOTE_ATTEMPTS if expected_champion is ... else 1
        what = f"{model_name}@{version}"
        verified = False
        for attempt in range(attempts):
            if attempt:
                # Jittered backoff so racing promoters do not collide again in lockstep.
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
            item, pointer = self._read_version(model_name, version)
            current = pointer_champion(pointer)
            card = self._version_card(model_name, version, item, pointer)
            if current == version:
                # Already champion: a replayed promote (at-least-once delivery) is a no-op, even
                # though the champion it expected has since been replaced by this very version.
                return card
            if expected_champion is not ... and expected_champion != current:
                raise PromotionConflictError(
                    f"cannot promote {what}: expected champion {expected_champion}, found {current}"
                )
            forced = check_transition(what, card.status, "champion", force=force, reason=reason)
            if not verified:
                self._verify_scorable(card, action="promote")
                verified = True
            history = [*pointer_history(pointer), current] if current else pointer_history(pointer)
            sets = {
                "status": "champion",
                "promoted_at": now.isoformat(),
                "promoted_by": promoted_by,
                "previous_champion": current,
                "archived_at": None,
                **({"comparison": comparison.model_dump_json()} if comparison else {}),
            }
            change = StatusChange(
                from_status=card.status,
                to_status="champion",
                at=now,
                by=promoted_by,
                reason=reason,
                forced=forced,
            )
            if self._move_champion(
                model_name,
                pointer,
                new=version,
                card_json=item["card"],
                history=history,
                old=current,
                sets=sets,
                change=change,
                now=now,
            ):
                self._after_move(model_name, version, current)
                logger.info(
                    "promoted model",
                    extra={
                        "model": model_name,
                        "version": version,
                        "previous": current,
                        "by": promoted_by,
                        "forced": forced,
                    },
                )
                return self.get(model_name, version)
        pointer = self._champion_pointer(model_name)
        if pointer is not None and not pointer.get(LEGACY) and "rev" not in pointer:
            raise PromotionConflictError(
                f"cannot promote {what}: the champion pointer is damaged (no rev); repair it with "
                f"`scorewatch models repair-champion {model_name} --version V --reason ...`"
            )
        raise PromotionConflictError(
            f"cannot promote {what}: the champion changed during the write ({attempts} attempt(s)); retry"
        )

    def _after_move(self, model_name: str, new: str, old: str | None) -> None:
        self._mirror_card(self.get(model_name, new))
        if old and old != new:
            self._mirror_card(self.get(model_name, old))

    def rollback(self, model_name: str, *, now: datetime, promoted_by: str) -> ModelCard:
        """Restore the previous champion in one step (the current one is archived).

        The restored version must be ``archived``, its card must match the digest pinned when it
        was champion, and its artifact must load.

        Raises
        ------
        ModelNotFoundError
            No champion or no earlier champion to restore.
        ModelIntegrityError
            The earlier champion's card changed since it was champion.
        StatusTransitionError
            The earlier champion is not archived (it was rejected since).
        PromotionConflictError
            The champion changed while rolling back.
        """
        check_model_name(model_name)
        pointer = self._champion_pointer(model_name)
        current = pointer_champion(pointer)
        history = pointer_history(pointer)
        if current is None or not history:
            raise ModelNotFoundError(f"model {model_name!r} has no previous champion to roll back to")
        previous = history[-1]
        what = f"{model_name}@{previous}"
        item, pointer = self._read_version(model_name, previous)
        pinned = _pins(pointer).get(previous)
        if pinned is not None and _digest(item["card"]) != pinned:
            raise ModelIntegrityError(
                f"cannot roll back to {what}: its card changed since it was champion "
                f"(sha256 {_digest(item['card'])}, pinned {pinned})"
            )
        card = self._version_card(model_name, previous, item, pointer)
        if card.status != "archived":
            raise StatusTransitionError(
                f"cannot roll back to {what}: it is {card.status}, not archived "
                "(promote it with --force --reason if that is intended)"
            )
        self._verify_scorable(card, action="roll back to")
        sets: dict[str, str | None] = {
            "status": "champion",
            "promoted_at": now.isoformat(),
            "promoted_by": promoted_by,
            "previous_champion": current,
            "archived_at": None,
        }
        change = StatusChange(
            from_status="archived",
            to_status="champion",
            at=now,
            by=promoted_by,
            reason=f"rollback from {current}",
        )
        if not self._move_champion(
            model_name,
            pointer,
            new=previous,
            card_json=item["card"],
            history=history[:-1],
            old=current,
            sets=sets,
            change=change,
            now=now,
        ):
            raise PromotionConflictError(f"cannot roll back {model_name}: the champion changed; retry")
        self._after_move(model_name, previous, current)
        logger.info(
            "rolled back model", extra={"model": model_name, "restored": previous, "retired": current}
        )
        return self.get(model_name, previous)

    def repair_champion(
        self,
        model_name: str,
        version: str | int | None = None,
        *,
        now: datetime,
        by: str,
        reason: str,
        force: bool = False,
    ) -> ModelCard:
        """Rewrite a damaged or missing champion pointer so that it names ``version``.

        The one write that replaces the pointer unconditionally, whatever is there (an item
        without ``rev``, a lock-shaped item, a legacy pointer in the model's partition). The
        version is verified like a promotion; history and pins that can still be read are kept.

        Parameters
        ----------
        version : str or int, optional
            Default: the champion the pointer (or a legacy pointer) still names, else the newest
            version whose item says ``champion``.
        reason : str
            Recorded in the version's ``status_history``.
        force : bool
            Allow a ``rejected`` version.

        Raises
        ------
        ModelNotFoundError
            No such version, or no version to repair to could be found.
        StatusTransitionError
            The version is rejected and ``force`` was not given, or ``reason`` is empty.
        ModelIntegrityError
            Its artifact or baseline fails verification.
        """
        check_model_name(model_name)
        if not (reason and reason.strip()):
            raise StatusTransitionError(f"repairing the champion of {model_name} needs a reason (--reason)")
        pointer = self._champion_pointer(model_name)
        if version is None:
            version = pointer_champion(pointer) or self._champion_by_status(model_name)
        version = format_version(version)
        what = f"{model_name}@{version}"
        item, pointer = self._read_version(model_name, version)
        raw_status = str(item.get("status") or "candidate")
        if raw_status == "rejected" and not force:
            raise StatusTransitionError(
                f"cannot repair the champion of {model_name} to {what}: it is rejected (--force)"
            )
        card = self._version_card(model_name, version, item, pointer)
        self._verify_scorable(card, action="repair the champion to")
        current = _safe_champion(pointer)
        try:
            history = [v for v in pointer_history(pointer) if isinstance(v, str) and v != version]
        except (TypeError, ValueError):
            history = []
        if current and current != version:
            history.append(current)
        sets: dict[str, str | None] = {
            "status": "champion",
            "promoted_at": now.isoformat(),
            "promoted_by": by,
            "previous_champion": current if current != version else card.previous_champion,
            "archived_at": None,
        }
        change = StatusChange(
            from_status=raw_status,
            to_status="champion",
            at=now,
            by=by,
            reason=f"repair: {reason}",
            forced=True,
        )
        self._move_champion(
            model_name,
            pointer,
            new=version,
            card_json=item["card"],
            history=history,
            old=current,
            sets=sets,
            change=change,
            now=now,
            unconditional=True,
        )
        self._after_move(model_name, version, current)
        logger.warning(
            "champion pointer repaired",
            extra={"model": model_name, "version": version, "by": by, "reason": reason, "previous": current},
        )
        return self.get(model_name, version)

    def _champion_by_status(self, model_name: str) -> str:
        champions = [c.version for c in self._raw_champions(model_name)]
        if not champions:
            raise ModelNotFoundError(
                f"model {model_name!r}: no pointer names a champion and no version item says champion; "
                "pass --version"
            )
        return champions[-1]

    def _raw_champions(self, model_name: str) -> list[ModelCard]:
        """Versions whose own item (not the pointer) says ``champion``, oldest first."""
        from scorewatch.io.registry.marshalling import card_from_item

        out = []
        for card in self.list_versions(model_name):
            item = self._get_item(model_name, card.version)
            if item is not None and item.get("status") == "champion" and "card" in item:
                out.append(card_from_item(item, card.version))
        return out

    def _set_status(
        self,
        model_name: str,
        version: str | int,
        status: Status,
        sets: dict[str, str | None],
        *,
        now: datetime,
        by: str | None,
        force: bool,
        reason: str | None,
    ) -> ModelCard:
        """Record a non-champion status; the champion (per the pointer) is refused."""
        check_model_name(model_name)
        version = format_version(version)
        what = f"{model_name}@{version}"
        card = self.get(model_name, version)
        if card.status == "champion":
            raise PromotionConflictError(
                f"cannot mark {what} {status}: it is the champion "
                "(promote another version or roll back first)"
            )
        if card.status == status:
            return card  # a replayed step (at-least-once delivery) changes nothing
        forced = check_transition(what, card.status, status, force=force, reason=reason)
        change = StatusChange(
            from_status=card.status, to_status=status, at=now, by=by, reason=reason, forced=forced
        )
        # Racing a promotion of this version is harmless: the pointer decides who is champion.
        update = self._status_update(model_name, version, {"status": status, **sets}, change)["Update"]
        with self._aws(f"setting {what} to {status}"):
            self._ddb.update_item(**update)
        card = self.get(model_name, version)
        self._mirror_card(card)
        return card

    def reject(
        self,
        model_name: str,
        version: str | int,
        *,
        comparison: Comparison | None,
        now: datetime,
        by: str | None = None,
        force: bool = False,
        reason: str | None = None,
    ) -> ModelCard:
        """Mark a candidate rejected by the gate (never the champion; others need force + reason)."""
        sets: dict[str, str | None] = {"archived_at": now.isoformat()}
        if comparison is not None:
            sets["comparison"] = comparison.model_dump_json()
        return self._set_status(
            model_name, version, "rejected", sets, now=now, by=by, force=force, reason=reason
        )

    def archive(
        self,
        model_name: str,
        version: str | int,
        *,
        now: datetime,
        by: str | None = None,
        force: bool = False,
        reason: str | None = None,
    ) -> ModelCard:
        """Archive a version that is not the champion: a champion is archived by promoting another
        version; archiving a candidate or rejected version needs ``force`` and a reason."""
        return self._set_status(
            model_name,
            version,
            "archived",
            {"archived_at": now.isoformat()},
            now=now,
            by=by,
            force=force,
            reason=reason,
        )


def _safe_rev(pointer: dict[str, Any] | None) -> int:
    try:
        return pointer_rev(pointer)
    except (TypeError, ValueError, ArithmeticError):
        return 0


def _pins(pointer: dict[str, Any] | None) -> dict[str, str]:
    """The pointer's card digests by version ({} when absent or malformed)."""
    pins = pointer.get("pins") if pointer else None
    return {str(k): str(v) for k, v in pins.items()} if isinstance(pins, dict) else {}


def _safe_champion(pointer: dict[str, Any] | None) -> str | None:
    champion = pointer_champion(pointer)
    try:
        return format_version(champion) if champion else None
    except ModelError:
        return None
