"""The S3 endpoint, region, pyarrow filesystem and boto3 client, resolved as the AWS SDKs do.

The endpoint is ``AWS_ENDPOINT_URL_S3``, then ``AWS_ENDPOINT_URL``; the region ``AWS_REGION``, then
``AWS_DEFAULT_REGION``; so the same code talks to AWS and to the local emulator. This is the one
documented place below the handlers that reads the environment; filesystems and clients are
cached per (endpoint, region).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

import pyarrow.fs as pafs


def _endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


@lru_cache(maxsize=8)
def _s3fs(endpoint: str | None, region: str | None) -> pafs.S3FileSystem:
    kwargs: dict[str, Any] = {"region": region or "us-east-1", "connect_timeout": 10, "request_timeout": 60}
    if endpoint:
        parsed = urlparse(endpoint)
        kwargs["scheme"] = parsed.scheme or "https"
        kwargs["endpoint_override"] = parsed.netloc or parsed.path
    return pafs.S3FileSystem(**kwargs)


_client_lock = threading.Lock()


@lru_cache(maxsize=8)
def _s3_client(endpoint: str | None, region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    with _client_lock:  # boto3's default session is not thread-safe while creating clients
        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=region or "us-east-1",
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )


def s3_client() -> Any:
    """The boto3 S3 client for the current endpoint/region (created once, reused)."""
    return _s3_client(_endpoint(), _region())


@lru_cache(maxsize=8)
def _presigning_client(endpoint: str | None, region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    with _client_lock:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=region or "us-east-1",
            config=Config(signature_version="s3v4"),
        )


def presigning_client() -> Any:
    """An S3 client that presigns with Signature Version 4 (required for SSE-KMS objects)."""
    return _presigning_client(_endpoint(), _region())
