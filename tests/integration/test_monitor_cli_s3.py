"""`scorewatch profile` / `drift` with s3:// URIs against the emulator over HTTP."""

from __future__ import annotations

import io
import json

import boto3
import numpy as np
import pandas as pd

from scorewatch.cli import EXIT_DRIFT, EXIT_OK, main


def _put(bucket: str, key: str, df: pd.DataFrame) -> str:
    buf = io.BytesIO()
    df.to_parquet(buf)
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    return f"s3://{bucket}/{key}"


def test_profile_and_drift_read_and_write_s3(resources):
    rng = np.random.default_rng(0)
    n = 3000
    ref = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(list("xyz"), n)})
    bucket = resources.data_bucket
    ref_uri = _put(bucket, "ref/ref.parquet", ref)
    same_uri = _put(bucket, "cur/same.parquet", ref.sample(frac=1.0, random_state=1))
    drift_uri = _put(bucket, "cur/drift.parquet", ref.assign(a=ref["a"] * 3))
    base, sample = f"s3://{bucket}/baseline/profile.json", f"s3://{bucket}/baseline/sample.parquet"

    assert main(["profile", "--input", ref_uri, "--output", base, "--sample", sample]) == EXIT_OK
    common = ["drift", "--baseline", base, "--reference-sample", sample]
    assert main([*common, "--current", same_uri]) == EXIT_OK
    out = f"s3://{bucket}/reports/out"
    rc = main([*common, "--current", drift_uri, "--json", out + ".json", "--html", out + ".html"])
    assert rc == EXIT_DRIFT
    s3 = boto3.client("s3")
    report = json.loads(s3.get_object(Bucket=bucket, Key="reports/out.json")["Body"].read())
    assert report["summary"]["drifted_features"] == ["a"]
    html = s3.get_object(Bucket=bucket, Key="reports/out.html")
    assert html["ContentType"] == "text/html"
