"""OpenAPI request bodies documented from the record models in ``matcher.records``, and a refused
record as FastAPI's 422 shape (one Dutch message per field).

The routers take the body as a plain JSON object and let the service validate it with its
context (known codes, the region, the caseload), so every message is the record's Dutch one;
the documented schema comes from the same model, with the fields the server sets left out.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from pydantic import BaseModel


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``#/$defs/...`` reference replaced by its definition (a ``$defs``
    reference would resolve against the whole OpenAPI document, not this schema)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.rsplit("/", 1)[1]], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def record_body(model: type[BaseModel], server_sets: tuple[str, ...] = ("code",)) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body with ``model``'s fields."""
    schema = model.model_json_schema()
    schema = _inline(schema, schema.get("$defs", {}))
    for name in server_sets:
        schema.get("properties", {}).pop(name, None)
    schema["required"] = [r for r in schema.get("required", []) if r not in server_sets]
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


def refused(errors: dict[str, str]) -> HTTPException:
    """A refused record: 422 with ``[{"loc": ["body", field], "msg": ..., "type": ...}]``."""
    detail = [
        {"loc": ["body", field], "msg": message, "type": "value_error"}
        for field, message in errors.items()
    ]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
