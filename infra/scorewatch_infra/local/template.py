"""A CloudFormation template as the local cloud reads it: parameters, conditions, intrinsics.

Resolution is lazy: ``resolve`` walks a value and replaces every intrinsic function with its
result, asking a ``lookup`` callable for ``Ref``/``Fn::GetAtt`` of resources (the deployer
answers with the names and ARNs the emulator gave them). Anything the local cloud cannot
evaluate is a ``TemplateError`` naming the function and the resource it appears in.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from scorewatch.core.errors import ScorewatchError


class TemplateError(ScorewatchError):
    """The template uses something the local cloud cannot resolve or deploy."""


class UnsupportedResourceError(TemplateError):
    """A resource type with neither a local implementation nor an allow-list entry."""

    def __init__(self, resource_type: str, logical_id: str):
        super().__init__(
            f"resource {logical_id!r} has type {resource_type!r}, which the local cloud does not "
            "support (add a deployer in scorewatch_infra.local.resources or an allow-list entry)"
        )
        self.resource_type = resource_type
        self.logical_id = logical_id


NO_VALUE = object()  # AWS::NoValue: the enclosing key or list item disappears

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")

Lookup = Callable[[str, str | None], Any]  # (logical_id, attribute or None for Ref) -> value


@dataclass
class Template:
    """A parsed template plus the pseudo parameters of the local stack."""

    body: dict[str, Any]
    stack_name: str
    region: str = "us-east-1"
    account_id: str = "123456789012"
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Resources", {})

    def parameter(self, name: str) -> Any:
        params = self.body.get("Parameters", {})
        if name not in params:
            raise TemplateError(f"Ref to unknown parameter or resource {name!r}")
        if name in self.parameter_overrides:
            value: Any = self.parameter_overrides[name]
        elif "Default" in params[name]:
            value = params[name]["Default"]
        else:
            raise TemplateError(f"parameter {name!r} has no Default and no value was given")
        if params[name].get("Type", "").startswith("List<") or params[name].get("Type") == (
            "CommaDelimitedList"
        ):
            return [v.strip() for v in str(value).split(",")]
        return value

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"unknown pseudo parameter {name!r}")
        return values[name]

    # -- conditions ----------------------------------------------------------------------------

    def condition(self, name: str, lookup: Lookup) -> bool:
        conditions = self.body.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self.resolve(conditions[name], lookup, where=f"Conditions.{name}"))

    def resource_enabled(self, logical_id: str, lookup: Lookup) -> bool:
        cond = self.resources[logical_id].get("Condition")
        return True if cond is None else self.condition(cond, lookup)

    # -- dependencies --------------------------------------------------------------------------

    def dependencies(self, logical_id: str) -> set[str]:
        """Logical ids of resources this resource references (Ref, GetAtt, Sub, DependsOn)."""
        res = self.resources[logical_id]
        deps: set[str] = set()
        depends_on = res.get("DependsOn", [])
        deps.update([depends_on] if isinstance(depends_on, str) else depends_on)
        _collect_refs(res.get("Properties", {}), deps)
        cond = res.get("Condition")
        if cond:
            _collect_refs(self.body.get("Conditions", {}).get(cond, {}), deps)
        return {d for d in deps if d in self.resources and d != logical_id}

    def deployment_order(self, logical_ids: Iterable[str] | None = None) -> list[str]:
        """Resources in dependency order (stable: template order among independent ones)."""
        ids = list(self.resources) if logical_ids is None else list(logical_ids)
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(node: str, path: list[str]) -> None:
            if state.get(node) == 2:
                return
            if state.get(node) == 1:
                raise TemplateError(f"circular dependency: {' -> '.join([*path, node])}")
            state[node] = 1
            for dep in sorted(self.dependencies(node)):
                visit(dep, [*path, node])
            state[node] = 2
            order.append(node)

        for node in ids:
            visit(node, [])
        return order

    # -- intrinsic functions -------------------------------------------------------------------

    def resolve(self, value: Any, lookup: Lookup, *, where: str = "") -> Any:
        """Return ``value`` with every intrinsic function evaluated."""
        if isinstance(value, list):
            items = [self.resolve(v, lookup, where=where) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            fn = _FUNCTIONS.get(key)
            if fn is not None:
                try:
                    return fn(self, arg, lookup, where)
                except TemplateError:
                    raise
                except (KeyError, IndexError, TypeError, ValueError) as exc:
                    raise TemplateError(f"cannot evaluate {key} in {where or 'template'}: {exc!r}") from exc
            if key.startswith("Fn::") or key == "Ref":
                raise TemplateError(
                    f"intrinsic function {key} (in {where or 'template'}) is not supported locally"
                )
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg, lookup)
        out = {}
        for k, v in value.items():
            r = self.resolve(v, lookup, where=where)
            if r is not NO_VALUE:
                out[k] = r
        return out


def _collect_refs(value: Any, out: set[str]) -> None:
    if isinstance(value, list):
        for v in value:
            _collect_refs(v, out)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" and isinstance(v, str):
                out.add(v)
            elif k == "Fn::GetAtt":
                target = v[0] if isinstance(v, list) else str(v).split(".", 1)[0]
                out.add(target)
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                local = set(v[1]) if isinstance(v, list) and len(v) > 1 else set()
                for name in _SUB_VAR.findall(text):
                    base = name.split(".", 1)[0]
                    if base not in local:
                        out.add(base)
                if isinstance(v, list) and len(v) > 1:
                    _collect_refs(v[1], out)
            else:
                _collect_refs(v, out)


def _ref(t: Template, arg: Any, lookup: Lookup, where: str) -> Any:
    if arg.startswith("AWS::"):
        return t.pseudo(arg)
    if arg in t.resources:
        return lookup(arg, None)
    return t.parameter(arg)


def _get_att(t: Template, arg: Any, lookup: Lookup, where: str) -> Any:
    if isinstance(arg, str):
        logical_id, attribute = arg.split(".", 1)
    else:
        logical_id, attribute = arg[0], t.resolve(arg[1], lookup, where=where)
    if logical_id not in t.resources:
        raise TemplateError(f"Fn::GetAtt to unknown resource {logical_id!r} in {where}")
    return lookup(logical_id, attribute)


def _join(t: Template, arg: Any, lookup: Lookup, where: str) -> str:
    sep, items = arg
    items = t.resolve(items, lookup, where=where)
    return t.resolve(sep, lookup, where=where).join(_text(i, where) for i in items)


def _text(v: Any, where: str) -> str:
    if isinstance(v, (dict, list)):
        raise TemplateError(f"cannot join a non-string value {v!r} in {where}")
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _sub(t: Template, arg: Any, lookup: Lookup, where: str) -> str:
    if isinstance(arg, list):
        text, local = arg[0], t.resolve(arg[1], lookup, where=where)
    else:
        text, local = arg, {}

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in local:
            return _text(local[name], where)
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return _text(_get_att(t, [logical_id, attribute], lookup, where), where)
        return _text(_ref(t, name, lookup, where), where)

    # ${!Literal} is an escaped literal ${Literal}.
    return _SUB_VAR.sub(repl, text).replace("${!", "${")


def _select(t: Template, arg: Any, lookup: Lookup, where: str) -> Any:
    index, items = t.resolve(arg[0], lookup, where=where), t.resolve(arg[1], lookup, where=where)
    return items[int(index)]


def _split(t: Template, arg: Any, lookup: Lookup, where: str) -> list[str]:
    sep, text = t.resolve(arg[0], lookup, where=where), t.resolve(arg[1], lookup, where=where)
    return str(text).split(sep)


def _if(t: Template, arg: Any, lookup: Lookup, where: str) -> Any:
    cond, yes, no = arg
    return t.resolve(yes if t.condition(cond, lookup) else no, lookup, where=where)


def _equals(t: Template, arg: Any, lookup: Lookup, where: str) -> bool:
    a, b = (t.resolve(v, lookup, where=where) for v in arg)
    return a == b


def _and(t: Template, arg: Any, lookup: Lookup, where: str) -> bool:
    return all(bool(t.resolve(v, lookup, where=where)) for v in arg)


def _or(t: Template, arg: Any, lookup: Lookup, where: str) -> bool:
    return any(bool(t.resolve(v, lookup, where=where)) for v in arg)


def _not(t: Template, arg: Any, lookup: Lookup, where: str) -> bool:
    return not bool(t.resolve(arg[0], lookup, where=where))


def _find_in_map(t: Template, arg: Any, lookup: Lookup, where: str) -> Any:
    name, top, second = (t.resolve(v, lookup, where=where) for v in arg[:3])
    try:
        return t.body["Mappings"][name][top][second]
    except KeyError as exc:
        raise TemplateError(f"Fn::FindInMap {name}/{top}/{second} not found in {where}") from exc


def _base64(t: Template, arg: Any, lookup: Lookup, where: str) -> str:
    return base64.b64encode(_text(t.resolve(arg, lookup, where=where), where).encode()).decode()


def _get_azs(t: Template, arg: Any, lookup: Lookup, where: str) -> list[str]:
    return [f"{t.region}{s}" for s in "abc"]


def _to_json_string(t: Template, arg: Any, lookup: Lookup, where: str) -> str:
    return json.dumps(t.resolve(arg, lookup, where=where), separators=(",", ":"))


def _length(t: Template, arg: Any, lookup: Lookup, where: str) -> int:
    return len(t.resolve(arg, lookup, where=where))


def _import_value(t: Template, arg: Any, lookup: Lookup, where: str) -> Any:
    raise TemplateError(
        f"Fn::ImportValue in {where}: cross-stack imports are not available in the local cloud "
        "(deploy the exporting stack's resources in the same template)"
    )


_FUNCTIONS: dict[str, Callable[[Template, Any, Lookup, str], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Join": _join,
    "Fn::Sub": _sub,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Fn::Not": _not,
    "Fn::FindInMap": _find_in_map,
    "Fn::Base64": _base64,
    "Fn::GetAZs": _get_azs,
    "Fn::ToJsonString": _to_json_string,
    "Fn::Length": _length,
    "Fn::ImportValue": _import_value,
}
