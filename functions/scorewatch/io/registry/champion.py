"""The champion pointer and status changes: promote, rollback, reject, archive.

``#champion`` holds the pointer (``champion``, ``history`` of earlier champions, ``rev``).
Promotion and rollback move it with a conditional write on ``rev`` (the one point deciding a race:
exactly one champion however many promotions race), then flip the new and previous champions'
status items together in one TransactWriteItems. Readers derive "champion" from the pointer.
"""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Any

from scorewatch.core.cards import Comparison, ModelCard, Status
from scorewatch.core.errors import ModelNotFoundError, PromotionConflictError
from scorewatch.core.schema import check_model_name
from scorewatch.io.registry.base import format_version, is_conditional_failure, logger
from scorewatch.io.registry.marshalling import (
    PK,
    SK,
    key,
    marshal,
    pointer_champion,
    pointer_history,
    pointer_rev,
)
from scorewatch.io.registry.versions import CHAMPION, Versions

_HISTORY_MAX = 50
_PROMOTE_ATTEMPTS = 10


class Champion(Versions):
    """Moving the champion pointer and recording non-champion statuses."""

    def _status_update(
        self,
        model_name: str,
        version: str,
        sets: dict[str, str | None],
        condition: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A TransactWriteItems ``Update`` setting ``sets`` (None -> NULL) on an existing item."""
        names = {"#sk": SK}
        exprs = []
        attr_values = dict(values or {})
        for i, (field, value) in enumerate(sets.items()):
            names[f"#f{i}"] = field
            attr_values[f":f{i}"] = value
            exprs.append(f"#f{i} = :f{i}")
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": key(model_name, version),
                "UpdateExpression": "SET " + ", ".join(exprs),
                "ConditionExpression": f"attribute_exists(#sk) AND ({condition})"
                if condition
                else "attribute_exists(#sk)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": marshal(attr_values),
            }
        }

    def _pointer_write(
        self,
        model_name: str,
        pointer: dict[str, Any] | None,
        champion: str,
        history: list[str],
        now: datetime,
    ) -> dict[str, Any]:
        """A ``Put`` of the pointer at ``champion``, conditional on the ``rev`` that was read."""
        rev = pointer_rev(pointer)
        item = {
            PK: model_name,
            SK: CHAMPION,
            "champion": champion,
            "history": history[-_HISTORY_MAX:],
            "rev": rev + 1,
            "updated_at": now.isoformat(),
        }
        if pointer is None:
            cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#sk)"}
        else:
            cond = {
                "ConditionExpression": "#rev = :rev",
                "ExpressionAttributeValues": marshal({":rev": rev}),
            }
        names = {"#sk": SK} if pointer is None else {"#rev": "rev"}
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": marshal(item),
                "ExpressionAttributeNames": names,
                **cond,
            }
        }

    def _move_champion(
        self,
        model_name: str,
        pointer: dict[str, Any] | None,
        *,
        new: str,
        history: list[str],
        old: str | None,
        sets: dict[str, str | None],
        now: datetime,
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

        put = self._pointer_write(model_name, pointer, new, history, now)["Put"]
        with self._aws(f"moving the champion of {model_name} to {new}"):
            try:
                self._ddb.put_item(**put)
            except ClientError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        items = [self._status_update(model_name, new, sets)]
        if old:
            items.append(
                self._status_update(model_name, old, {"status": "archived", "archived_at": now.isoformat()})
            )
        if not self._transact(items, what=f"recording {model_name} champion {new}"):
            logger.warning("champion status items not updated", extra={"model": model_name, "version": new})
        return True

    def promote(
        self,
        model_name: str,
        version: str | int,
        *,
        now: datetime,
        promoted_by: str,
        comparison: Comparison | None = None,
        expected_champion: Any = ...,
    ) -> ModelCard:
        """Make ``version`` the champion (conditional pointer write); the previous champion is archived.

        Parameters
        ----------
        expected_champion : str, None or ... (default)
            ``...``: whatever the champion is (a lost race is retried against the new state).
            ``None``: only if the model has no champion. A version: only if it is still champion.

        Returns
        -------
        ModelCard
            The new champion's card (``previous_champion`` names the version it replaced).

        Raises
        ------
        PromotionConflictError
            The champion is not ``expected_champion`` (or changed during the write).
        ModelNotFoundError
            No such version.
        """
        check_model_name(model_name)
        version = format_version(version)
        if expected_champion not in (..., None):
            expected_champion = format_version(expected_champion)
        attempts = _PROMOTE_ATTEMPTS if expected_champion is ... else 1
        for attempt in range(attempts):
            if attempt:
                # Jittered backoff so racing promoters do not collide again in lockstep.
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
            card = self.get(model_name, version)
            pointer = self._champion_pointer(model_name)
            current = pointer_champion(pointer)
            if current == version:
                # Already champion: a replayed promote (at-least-once delivery) is a no-op, even
                # though the champion it expected has since been replaced by this very version.
                return card
            if expected_champion is not ... and expected_champion != current:
                raise PromotionConflictError(
                    f"cannot promote {model_name}@{version}: expected champion {expected_champion}, "
                    f"found {current}"
                )
            history = [*pointer_history(pointer), current] if current else pointer_history(pointer)
            sets = {
                "status": "champion",
                "promoted_at": now.isoformat(),
                "promoted_by": promoted_by,
                "previous_champion": current,
                "archived_at": None,
                **({"comparison": comparison.model_dump_json()} if comparison else {}),
            }
            if self._move_champion(
                model_name, pointer, new=version, history=history, old=current, sets=sets, now=now
            ):
                new = self.get(model_name, version)
                self._mirror_card(new)
                if current:
                    self._mirror_card(self.get(model_name, current))
                logger.info(
                    "promoted model",
                    extra={"model": model_name, "version": version, "previous": current, "by": promoted_by},
                )
                return new
        raise PromotionConflictError(
            f"cannot promote {model_name}@{version}: the champion changed during the write "
            f"({attempts} attempt(s)); retry"
        )

    def rollback(self, model_name: str, *, now: datetime, promoted_by: str) -> ModelCard:
        """Restore the previous champion in one step (the current one is archived).

        Raises
        ------
        ModelNotFoundError
            No champion or no earlier champion to restore.
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
        sets: dict[str, str | None] = {
            "status": "champion",
            "promoted_at": now.isoformat(),
            "promoted_by": promoted_by,
            "previous_champion": current,
            "archived_at": None,
        }
        if not self._move_champion(
            model_name, pointer, new=previous, history=history[:-1], old=current, sets=sets, now=now
        ):
            raise PromotionConflictError(f"cannot roll back {model_name}: the champion changed; retry")
        restored = self.get(model_name, previous)
        self._mirror_card(restored)
        self._mirror_card(self.get(model_name, current))
        logger.info(
            "rolled back model", extra={"model": model_name, "restored": previous, "retired": current}
        )
        return restored

    def _set_status(
        self, model_name: str, version: str | int, status: Status, sets: dict[str, str | None]
    ) -> ModelCard:
        """Record a non-champion status; the champion (per the pointer) is refused."""
        check_model_name(model_name)
        version = format_version(version)
        if self.get(model_name, version).status == "champion":
            raise PromotionConflictError(
                f"cannot mark {model_name}@{version} {status}: it is the champion "
                "(promote another version or roll back first)"
            )
        # Racing a promotion of this version is harmless: the pointer decides who is champion.
        update = self._status_update(model_name, version, {"status": status, **sets})["Update"]
        with self._aws(f"setting {model_name}@{version} to {status}"):
            self._ddb.update_item(**update)
        card = self.get(model_name, version)
        self._mirror_card(card)
        return card

    def reject(
        self, model_name: str, version: str | int, *, comparison: Comparison | None, now: datetime
    ) -> ModelCard:
        """Mark a candidate rejected by the gate (never the champion)."""
        sets: dict[str, str | None] = {"archived_at": now.isoformat()}
        if comparison is not None:
            sets["comparison"] = comparison.model_dump_json()
        return self._set_status(model_name, version, "rejected", sets)

    def archive(self, model_name: str, version: str | int, *, now: datetime) -> ModelCard:
        """Archive a version that is not the champion (promote or roll back first)."""
        return self._set_status(model_name, version, "archived", {"archived_at": now.isoformat()})
