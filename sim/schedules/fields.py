"""Documented fields: every field of a schedule spec or a config says what it is and in what unit.

``param`` declares such a field; ``tierlab config docs`` and the JSON Schemas read the description
and the unit it stores (``json_schema_extra["unit"]``, "-" for a dimensionless value).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo


def param(default: Any, unit: str, description: str, **constraints: Any) -> Any:
    """A pydantic Field with its meaning and unit; ``default`` is ``...`` for a required field and
    ``constraints`` are Field's own (``ge``, ``lt``, ``exclude``, ...)."""
    return Field(default, description=description, json_schema_extra={"unit": unit}, **constraints)


def unit_of(field: FieldInfo) -> str:
    """The unit a ``param`` field declares (empty for a field declared some other way)."""
    extra = field.json_schema_extra
    return str(extra.get("unit", "")) if isinstance(extra, dict) else ""
