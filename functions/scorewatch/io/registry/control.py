"""Control items: locks and cooldowns (``lock#<name>``, ``cooldown#<name>``), claimed with
conditional writes and carrying an expiry, and the pending human approval of a retraining run
(``approval``: its Step Functions task token, candidate version and execution id), written by the
workflow and read by ``models approve``.

They live in their own partition, ``control#<model>`` (contract.Table.CONTROL_PREFIX): model names
cannot contain ``#``, so no control key can equal a version, the counter or the champion pointer,
and IAM limits the roles that write control items to that prefix with ``dynamodb:LeadingKeys``.
Control items written by earlier releases (``<model>`` / ``#lock#...``) are ignored; they carry
an expiry and nothing reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scorewatch.core.schema import check_model_name
from scorewatch.io.registry.base import RegistryBase, format_version, logger
from scorewatch.io.registry.marshalling import PK, SK, control_partition, marshal

_LOCK = "lock#"
_COOLDOWN = "cooldown#"
_APPROVAL = "approval"


@dataclass(frozen=True)
class ApprovalRequest:
    """A retraining run waiting for a human: the candidate and the task token that resumes it."""

    model_name: str
    version: str
    execution_id: str
    task_token: str
    requested_at: datetime
    expires_at: datetime


class Control(RegistryBase):
    """Locks, cooldowns and pending approvals of a model."""

    # ------------------------------------------------------------------ locks and cooldowns

    def acquire_lock(
        self, model_name: str, name: str, *, owner: str, now: datetime, ttl_seconds: int
    ) -> bool:
        """Take ``model_name``'s lock ``name`` for ``owner``; False if someone else holds it.

        The lock expires ``ttl_seconds`` after ``now`` so a crashed holder blocks nobody forever;
        the same owner may re-acquire (refresh) it.
        """
        check_model_name(model_name)
        check_model_name(name)
        expires = int(now.timestamp()) + int(ttl_seconds)
        return self._conditional_put(
            {
                PK: control_partition(model_name),
                SK: _LOCK + name,
                "owner": owner,
                "acquired_at": now.isoformat(),
                "expires_at": expires,
            },
            "attribute_not_exists(#sk) OR expires_at <= :now OR #owner = :owner",
            {":now": int(now.timestamp()), ":owner": owner},
            {"#sk": SK, "#owner": "owner"},
            what=f"locking {model_name}/{name}",
        )

    def release_lock(self, model_name: str, name: str, *, owner: str) -> bool:
        """Release the lock if ``owner`` holds it; False (nothing changed) otherwise."""
        check_model_name(model_name)
        check_model_name(name)
        return self._conditional_delete(
            control_partition(model_name),
            _LOCK + name,
            "#owner = :owner",
            {":owner": owner},
            {"#owner": "owner"},
            what=f"unlocking {model_name}/{name}",
        )

    def lock_holder(self, model_name: str, name: str, *, now: datetime) -> str | None:
        """Who holds ``model_name``'s lock ``name`` at ``now`` (None: free or expired)."""
        check_model_name(model_name)
        check_model_name(name)
        item = self._get_item(control_partition(model_name), _LOCK + name)
        if item is None or int(item.get("expires_at", 0)) <= int(now.timestamp()):
            return None
        return str(item.get("owner"))

    def claim_cooldown(self, model_name: str, name: str, *, now: datetime, minutes: int) -> bool:
        """True at most once per ``minutes`` window (a conditional write decides among racers)."""
        check_model_name(model_name)
        check_model_name(name)
        until = int(now.timestamp()) + int(minutes) * 60
        return self._conditional_put(
            {
                PK: control_partition(model_name),
                SK: _COOLDOWN + name,
                "claimed_at": now.isoformat(),
                "until": until,
            },
            "attribute_not_exists(#sk) OR #until <= :now",
            {":now": int(now.timestamp())},
            {"#sk": SK, "#until": "until"},
            what=f"claiming cooldown {model_name}/{name}",
        )

    def release_cooldown(self, model_name: str, name: str, *, now: datetime) -> bool:
        """Give back the cooldown claimed at ``now`` (its announcement could not be published).

        Only the claim made at ``now`` is removed, so a racer's later claim is never undone.
        """
        check_model_name(model_name)
        check_model_name(name)
        return self._conditional_delete(
            control_partition(model_name),
            _COOLDOWN + name,
            "#claimed_at = :at",
            {":at": now.isoformat()},
            {"#claimed_at": "claimed_at"},
            what=f"releasing cooldown {model_name}/{name}",
        )

    @contextmanager
    def giving_back_cooldown(self, model_name: str, name: str, *, now: datetime) -> Iterator[None]:
        """Publish the announcement of the cooldown claimed at ``now`` inside the block; if it
        raises, the cooldown is given back so the retry announces it (else it would be lost).

        A failed give-back is logged, never raised over the publish error that caused it.
        """
        try:
            yield
        except Exception:
            try:
                self.release_cooldown(model_name, name, now=now)
            except Exception:  # noqa: BLE001 - the publish error below is the one to report
                logger.error(
                    "cooldown not given back after a failed announcement",
                    extra={"model": model_name, "cooldown": name},
                    exc_info=True,
                )
            raise

    # ------------------------------------------------------------------ pending approval

    def put_approval_request(
        self,
        model_name: str,
        *,
        version: str,
        execution_id: str,
        task_token: str,
        now: datetime,
        ttl_seconds: int,
    ) -> ApprovalRequest:
        """Record the pending approval of ``version`` (one per model: the retraining lock ensures it)."""
        check_model_name(model_name)
        request = ApprovalRequest(
            model_name=model_name,
            version=format_version(version),
            execution_id=execution_id,
            task_token=task_token,
            requested_at=now,
            expires_at=now + timedelta(seconds=int(ttl_seconds)),
        )
        item = {
            PK: control_partition(model_name),
            SK: _APPROVAL,
            "candidate": request.version,
            "execution_id": execution_id,
            "task_token": task_token,
            "requested_at": now.isoformat(),
            "expires_at": int(request.expires_at.timestamp()),
        }
        with self._aws(f"recording the approval request of {model_name}"):
            self._ddb.put_item(TableName=self.table_name, Item=marshal(item))
        return request

    def get_approval_request(self, model_name: str) -> ApprovalRequest | None:
        """The pending approval of ``model_name``, or None."""
        check_model_name(model_name)
        item = self._get_item(control_partition(model_name), _APPROVAL)
        if item is None:
            return None
        return ApprovalRequest(
            model_name=model_name,
            version=item["candidate"],
            execution_id=item["execution_id"],
            task_token=item["task_token"],
            requested_at=datetime.fromisoformat(item["requested_at"]),
            expires_at=datetime.fromtimestamp(int(item["expires_at"]), tz=UTC),
        )

    def clear_approval_request(self, model_name: str, *, execution_id: str) -> bool:
        """Delete the pending approval if ``execution_id`` made it; False (nothing changed) otherwise."""
        check_model_name(model_name)
        return self._conditional_delete(
            control_partition(model_name),
            _APPROVAL,
            "execution_id = :e",
            {":e": execution_id},
            what=f"clearing the approval request of {model_name}",
        )
