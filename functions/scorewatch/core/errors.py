"""The scorewatch exception family.

Raised where the problem is found, chained with ``from exc``, each message naming the offending
value (file, column, row, key). Class names are matched by Step Functions (see contract.ErrorName).
"""

from __future__ import annotations


class ScorewatchError(Exception):
    """Base class of every error scorewatch raises on purpose."""


# Stands in for a raw input value in anything that leaves the account's storage (events, SNS).
REDACTED = "<redacted>"


def with_library_detail(
    message: str, exc: BaseException, *, source_uri: str | None, reason: str, cls: type | None = None
) -> InputRejectedError:
    """A rejection whose full message ends with a library's error text (kept in the S3 report)
    while its public message (events, SNS) names only the library's error type.

    Library text can quote raw input: Arrow's CSV parser prints the offending row, scikit-learn
    the unknown category, Python's JSON the document around the error.
    """
    kind = cls or InputRejectedError
    err: InputRejectedError = kind(
        f"{message} ({exc})",
        source_uri=source_uri,
        reason=reason,
        public_message=f"{message} ({type(exc).__name__}; the detail is in the rejection report)",
    )
    return err


class InputRejectedError(ScorewatchError):
    """The input cannot be scored as a whole (format, schema, too many bad rows).

    Not an invocation failure: handlers write a rejection report and return normally.
    ``source_uri`` names the file; ``reason`` is a short machine-readable code. ``public_message``
    is the message without raw input values (``REDACTED`` in their place) for events and
    notifications; it defaults to the message, which the rejection report keeps in full.
    """

    def __init__(
        self,
        message: str,
        *,
        source_uri: str | None = None,
        reason: str = "invalid_input",
        public_message: str | None = None,
    ):
        super().__init__(message)
        self.source_uri = source_uri
        self.reason = reason
        self.public_message = message if public_message is None else public_message


class UnsupportedFormatError(InputRejectedError):
    """The file's extension or content is not a format scorewatch reads."""


class MissingColumnsError(InputRejectedError):
    """Required feature columns are absent from the input."""


class TooManyRejectedRowsError(InputRejectedError):
    """The share of rejected rows exceeds max_reject_fraction."""


class InputTooLargeError(ScorewatchError):
    """The input exceeds what one invocation may process; it must go to the split workflow."""


class ModelError(ScorewatchError):
    """Base class for registry and artifact problems."""


class ModelNotFoundError(ModelError):
    """No such model, version, champion or artifact."""


class ModelIntegrityError(ModelError):
    """An artifact's sha256 does not match the registry, or it holds untrusted types."""


class BaselineIntegrityError(ModelIntegrityError):
    """A baseline profile or sample does not match the S3 version or sha256 pinned in its card."""


class IncompatibleModelError(ModelError):
    """The artifact was trained under another scikit-learn minor version."""


class UnsafeModelFormatError(ModelError):
    """A pickle/joblib artifact was offered while unsafe formats are disabled."""


class InvalidModelNameError(ModelError):
    """A model name with characters that could escape its key prefix (``../x``)."""


class PromotionConflictError(ModelError):
    """A conditional registry write lost a race (another promotion happened first)."""


class StatusTransitionError(ModelError):
    """A status change the lifecycle does not allow (promoting a rejected version...) without force."""


class RetrainingInProgressError(ScorewatchError):
    """A retraining run already holds the model's lock."""


class RetrainingDisabledError(ScorewatchError):
    """The model's configuration sets ``retraining.enabled: false``: nothing is trained."""


class ApprovalNotPendingError(ScorewatchError):
    """No retraining run of the model is waiting for approval (nothing to approve or deny)."""


class TrainingError(ScorewatchError):
    """Training a challenger failed (bad spec, no data, estimator error)."""


class TransientError(ScorewatchError):
    """A retryable infrastructure failure (throttling, 5xx, timeout). Lambda/Step Functions retry it."""


class ConfigError(ScorewatchError):
    """The model configuration is invalid; the message names the field."""


class MonitoringInputError(ScorewatchError):
    """Profiles, samples or drift settings that cannot be compared (unknown column, bad counts, bad test)."""


class ProfileError(MonitoringInputError):
    """A profile cannot be built, read or merged (different bin edges, unknown schema version)."""
