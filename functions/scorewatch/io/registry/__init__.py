"""The model registry: versions and cards in DynamoDB, artifacts and baselines in the models bucket.

This package owns the registry table's items and the models bucket's objects. ``Registry``
(``facade``) is composed of mixins over shared clients and AWS error mapping (``base``): version
items, registration and card reads (``versions``), artifacts with verified cached loads,
pinned and hash-checked baselines and card mirrors in S3 (``artifact_store``), the champion
pointer (partition ``champion#<model>``, pinning the champion's card) with promotion, rollback,
repair and the validated status transitions (``champion``), and control items in partition
``control#<model>``, i.e. locks, cooldowns and the pending retraining approval (``control``);
``marshalling`` converts items between plain dicts and DynamoDB attribute values with boto3's
TypeSerializer/TypeDeserializer. Its modules may import
``scorewatch.core``, ``scorewatch.io.artifacts``, ``scorewatch.io.transient`` and third-party I/O
libraries (boto3/botocore, pyarrow) only, with boto3 imported on first use. The public names are
re-exported here, so ``from scorewatch.io import registry; registry.Registry`` is the way to use it;
patch a name in the module that defines it (e.g. ``registry.artifact_store.clear_cache``).
"""

from __future__ import annotations

from scorewatch.io.registry.artifact_store import LoadedModel, clear_cache
from scorewatch.io.registry.base import format_version
from scorewatch.io.registry.control import ApprovalRequest
from scorewatch.io.registry.facade import Registry

__all__ = ["ApprovalRequest", "LoadedModel", "Registry", "clear_cache", "format_version"]
