"""Issue 19, the site built where the data is: on the synthesized stack deployed on the local cloud,
each monitor run's history write reaches the ``site`` function, which rewrites only that model's
page and the index (object ETags and version ids compared before and after a new batch); every AWS
call it makes is judged against its role when the cloud stops (tests/conftest.py)."""

from __future__ import annotations

import pytest
from reliability_kit import csv_bytes, frame, local_cloud, model_config

from scorewatch.core.contract import Prefix

pytestmark = pytest.mark.xdist_group("local-cloud")

MODELS = ("churn", "other")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with local_cloud(tmp_path_factory, [model_config(m) for m in MODELS]) as c:
        yield c


@pytest.fixture(scope="module")
def res(cloud):
    from reliability_kit import cloud_resources, register_champion

    res = cloud_resources(cloud)
    for name in MODELS:
        register_champion(res, name)
    return res


def _site(cloud, bucket):
    """key -> (ETag, version id) of every object under site/."""
    s3 = cloud.client("s3")
    out = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=Prefix.SITE):
        for v in page.get("Versions", []):
            if v["IsLatest"]:
                out[v["Key"]] = (v["ETag"], v["VersionId"])
    return out


def _upload(cloud, res, model, name, seed):
    key = f"incoming/{model}/{name}.csv"
    cloud.client("s3").put_object(Bucket=res.data_bucket, Key=key, Body=csv_bytes(frame(200, seed=seed)))
    cloud.drain(timeout=300)


def _deliveries(cloud):
    return [d for d in cloud.router.deliveries if d.rule.endswith("history-to-site")]


def test_a_new_batch_rewrites_only_its_model_page_and_the_index(cloud, res):
    for i, model in enumerate(MODELS):
        _upload(cloud, res, model, "first", seed=10 + i)
    before = _site(cloud, res.data_bucket)
    assert {"site/index.html", "site/models/churn/index.html", "site/models/other/index.html"} <= set(before)
    index = (
        cloud.client("s3").get_object(Bucket=res.data_bucket, Key="site/index.html")["Body"].read().decode()
    )
    assert 'href="models/churn/index.html"' in index and 'href="models/other/index.html"' in index
    runs = len(_deliveries(cloud))
    assert runs == 2 and not [d for d in _deliveries(cloud) if d.error]

    _upload(cloud, res, "churn", "second", seed=12)
    after = _site(cloud, res.data_bucket)
    assert len(_deliveries(cloud)) == runs + 1 and not cloud.router.errors
    changed = {k for k in after if before.get(k) != after[k]}
    pages = {k for k in changed if k.endswith("index.html")}
    assert pages == {"site/index.html", "site/models/churn/index.html"}
    # Everything else that changed belongs to churn: its new drift report and its kept state.
    assert all(k.startswith(("site/models/churn/reports/", "site/_state/")) for k in changed - pages), changed
    assert not [k for k in changed if "/other" in k or k.endswith("/other.json")], changed
    new_reports = [k for k in after if k.startswith("site/models/churn/reports/") and k not in before]
    assert len(new_reports) == 1
    page = cloud.client("s3").get_object(Bucket=res.data_bucket, Key="site/models/churn/index.html")
    html = page["Body"].read().decode()
    assert html.count('class="cell"') == 3 * 2  # 3 features x 2 batches
    assert page["ContentType"] == "text/html"
