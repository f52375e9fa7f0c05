"""Checks the server's answers against provider/rest/openapi.yaml: httpx event
hooks that validate every JSON body against the response schema the document
gives for that operation and status. The SDK's TypedDicts are generated from
the same document, so a mismatch here is a mismatch between the SDK's types and
the server.

The validator covers the JSON Schema the document uses (type, enum, const,
properties, required, additionalProperties, items, min/max lengths and items,
minimum/maximum, pattern, $ref, allOf, anyOf, oneOf, formats uuid, date-time
and email). allOf (CreatedAPIKey = APIKey + key) is read as the document means
it: the union of the members' properties, closed."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import httpx
import yaml

from puguh_sdk import ROUTES

from .puguh import REPO_ROOT

DOC: dict[str, Any] = yaml.safe_load((REPO_ROOT / "provider" / "rest" / "openapi.yaml").read_text(encoding="utf-8"))


def _resolve(ref: str) -> Any:
    node: Any = DOC
    for key in ref.lstrip("#/").split("/"):
        node = node[key]
    return node


def _type_ok(t: str, v: Any) -> bool:
    if t == "string":
        return isinstance(v, str)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    if t == "null":
        return v is None
    raise ValueError(f"unknown type {t}")


def _format_ok(fmt: str, v: str) -> bool:
    if fmt == "uuid":
        try:
            uuid.UUID(v)
            return True
        except ValueError:
            return False
    if fmt == "date-time":
        try:
            datetime.fromisoformat(v.replace("Z", "+00:00"))
            return True
        except ValueError:
            return False
    if fmt == "email":
        return "@" in v
    return True


def _merged(schema: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for member in schema["allOf"]:
        m = _resolve(member["$ref"]) if "$ref" in member else member
        props.update(m.get("properties", {}))
        required.extend(m.get("required", []))
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def validate(schema: dict[str, Any], value: Any, where: str = "$") -> list[str]:
    """The ways ``value`` breaks ``schema`` (empty: it conforms)."""
    if "$ref" in schema:
        return validate(_resolve(schema["$ref"]), value, where)
    if "allOf" in schema:
        return validate(_merged(schema), value, where)
    errors: list[str] = []
    if "anyOf" in schema and not any(not validate(s, value, where) for s in schema["anyOf"]):
        errors.append(f"{where}: matches none of anyOf")
    if "oneOf" in schema and sum(1 for s in schema["oneOf"] if not validate(s, value, where)) != 1:
        errors.append(f"{where}: does not match exactly one of oneOf")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(t, value) for t in types):
            return errors + [f"{where}: {value!r} is not of type {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} is not {schema['const']!r}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{where}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{where}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: does not match {schema['pattern']}")
        if "format" in schema and not _format_ok(schema["format"], value):
            errors.append(f"{where}: {value!r} is not a {schema['format']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: above {schema['maximum']}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors.extend(validate(schema["items"], item, f"{where}[{i}]"))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: {name} is missing")
        for name, item in value.items():
            if name in props:
                errors.extend(validate(props[name], item, f"{where}.{name}"))
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: {name} is not allowed")
    return errors


# Routes as regexps, literal paths before templated ones (/applications/grants before /applications/{id}).
_ROUTES = sorted(
    (
        (op, r.method, r.path, re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", r.path) + "$"))
        for op, r in ROUTES.items()
    ),
    key=lambda row: -len([s for s in row[2].split("/") if s and not s.startswith("{")]),
)


def _operation(method: str, path: str) -> tuple[str, str] | None:
    for op, m, template, rx in _ROUTES:
        if m == method and rx.match(path):
            return op, template
    return None


def _response_schema(template: str, method: str, status: int) -> tuple[bool, dict[str, Any] | None]:
    """(documented, schema): schema None means the document says no body."""
    res = DOC["paths"][template][method.lower()]["responses"].get(str(status))
    if res is None:
        return False, None
    if "$ref" in res:
        res = _resolve(res["$ref"])
    schema = res.get("content", {}).get("application/json", {}).get("schema")
    return True, schema


class SchemaChecker:
    """Collects ``problems`` (disagreements with the document) and ``checked``
    ("operationId status" pairs validated) from every response it sees."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked: set[str] = set()

    def _check(self, response: httpx.Response) -> None:
        found = _operation(response.request.method, response.request.url.path)
        if found is None:
            return
        op, template = found
        where = f"{op} {response.status_code}"
        documented, schema = _response_schema(template, response.request.method, response.status_code)
        text = response.text
        if not documented:
            self.problems.append(f"{where}: the document lists no {response.status_code} answer (body {text[:200]})")
            return
        self.checked.add(where)
        if schema is None:
            if text != "":
                self.problems.append(f"{where}: the document says no body, the server sent {text[:200]}")
            return
        try:
            body = response.json()
        except ValueError:
            self.problems.append(f"{where}: not JSON: {text[:200]}")
            return
        for error in validate(schema, body):
            self.problems.append(f"{where}: {error} in {text[:300]}")

    def hook(self, response: httpx.Response) -> None:
        response.read()
        self._check(response)

    async def async_hook(self, response: httpx.Response) -> None:
        await response.aread()
        self._check(response)

    def client(self, **kwargs: Any) -> httpx.Client:
        hooks = kwargs.pop("event_hooks", {})
        return httpx.Client(event_hooks={**hooks, "response": [self.hook]}, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        hooks = kwargs.pop("event_hooks", {})
        return httpx.AsyncClient(event_hooks={**hooks, "response": [self.async_hook]}, **kwargs)
