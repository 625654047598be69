"""The events and metrics catalogue, generated from ``scorewatch.core.contract``.

Names, descriptions and emitters come from the contract (``DetailType`` + ``DETAIL_TYPE_DOCS``,
``Metric`` + ``METRIC_DOCS``, ``ErrorName`` + ``ERROR_DOCS``); each event's detail fields from its
model in ``scorewatch.io.events``, each metric's unit from ``scorewatch.io.metrics.UNITS``.
"""

from __future__ import annotations

from reference_tables import anchor, code, constraints_text, default_text, prose, table, type_name

from scorewatch.core import contract
from scorewatch.io import events, metrics


def names(namespace: type) -> dict[str, str]:
    """The constants of a contract class (``Metric``, ``DetailType`` ...): attribute -> value."""
    return {k: v for k, v in vars(namespace).items() if k.isupper() and isinstance(v, str)}


def _check(kind: str, declared: dict[str, str], documented: dict[str, contract.Doc]) -> None:
    missing = sorted(set(declared.values()) - set(documented))
    if missing:
        raise ValueError(f"contract {kind} without an entry in its docs mapping: {', '.join(missing)}")
    unknown = sorted({f for doc in documented.values() for f in doc.emitted_by} - set(contract.HANDLERS))
    if unknown:
        raise ValueError(
            f"contract {kind} docs name functions not in contract.HANDLERS: {', '.join(unknown)}"
        )


def _functions(ids: tuple[str, ...]) -> str:
    return ", ".join(code(i) for i in ids)


def render() -> str:
    """The Markdown page.

    Raises
    ------
    ValueError
        A detail-type, metric or error name without its contract docs entry (or detail model), or
        an emitter that is not a function of ``contract.HANDLERS``.
    """
    detail_types = names(contract.DetailType)
    metric_names = names(contract.Metric)
    error_names = names(contract.ErrorName)
    _check("detail-types", detail_types, contract.DETAIL_TYPE_DOCS)
    _check("metrics", metric_names, contract.METRIC_DOCS)
    _check("error names", error_names, contract.ERROR_DOCS)
    no_model = sorted(set(detail_types.values()) - set(events.DETAIL_MODELS))
    if no_model:
        raise ValueError(f"detail-types without a model in scorewatch.io.events: {', '.join(no_model)}")
    no_unit = sorted(set(metric_names.values()) - set(metrics.UNITS))
    if no_unit:
        raise ValueError(f"metrics without a unit in scorewatch.io.metrics.UNITS: {', '.join(no_unit)}")

    out = [
        "# Events and metrics catalogue\n",
        "Generated from `scorewatch.core.contract` (names, descriptions, emitting functions), the "
        "event detail models in `scorewatch.io.events` and the metric units in "
        "`scorewatch.io.metrics` when the site is built. How they are used is in "
        "[Events and metrics](../events-metrics.md).\n",
        "## Events {#events}\n",
        f"Source {code(contract.EVENT_SOURCE)} on the scorewatch event bus. Every detail carries "
        "`schema_version` and rejects unknown keys; `parse_detail(detail_type, detail)` parses one.\n",
        table(
            ("detail-type", "published by", "when"),
            [
                (
                    f"[{code(v)}](#{anchor(v)})",
                    _functions(contract.DETAIL_TYPE_DOCS[v].emitted_by),
                    prose(contract.DETAIL_TYPE_DOCS[v].description),
                )
                for v in detail_types.values()
            ],
        ),
    ]
    for constant, value in detail_types.items():
        model = events.DETAIL_MODELS[value]
        out.append(f"### {value} {{#{anchor(value)}}}\n")
        out.append(
            f"{prose(contract.DETAIL_TYPE_DOCS[value].description)} Detail model "
            f"`scorewatch.io.events.{model.__name__}`, detail-type `contract.DetailType.{constant}`.\n"
        )
        rows = [
            (code(name), type_name(f.annotation), default_text(f), constraints_text(f))
            for name, f in model.model_fields.items()
        ]
        out.append(table(("field", "type", "default", "constraints"), rows))

    out += [
        "## Metrics {#metrics}\n",
        f"CloudWatch namespace {code(contract.METRIC_NAMESPACE)}, one dimension "
        f"{code(contract.DIMENSION_MODEL)} (the model name) on every metric, sent as EMF.\n",
        table(
            ("metric", "unit", "dimensions", "emitted by", "description"),
            [
                (
                    code(v),
                    metrics.UNITS[v].value,
                    code(contract.DIMENSION_MODEL),
                    _functions(contract.METRIC_DOCS[v].emitted_by),
                    prose(contract.METRIC_DOCS[v].description),
                )
                for v in metric_names.values()
            ],
        ),
        "## Error names {#errors}\n",
        "Exception class names the Step Functions Retry and Catch blocks match on (`contract.ErrorName`).\n",
        table(
            ("error", "meaning"),
            [(code(v), prose(contract.ERROR_DOCS[v].description)) for v in error_names.values()],
        ),
    ]
    return "\n".join(out)
