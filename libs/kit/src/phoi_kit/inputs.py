"""What any request may carry, in every service: text PostgreSQL can store and a person typed, integers
PostgreSQL can hold. (Dates: `phoi_kit.params`.)

- Text has no control characters (Unicode category Cc) — a multi-line field (`MultiLine`: a reason, a
  note, a description) also takes tab, line feed and carriage return — and no lone surrogates (UTF-8 cannot
  encode them). PostgreSQL refuses NUL in text outright; the others are never typed on purpose.
- An integer is within ±(2**53 - 1): exact in every JSON parser (and as a JSON Schema bound, which tools
  read as a float), well within PostgreSQL's bigint. In a body always (the schema states the tighter of
  the field's bounds and these); a query or path parameter declaring bounds of its own keeps them.

Request bodies get the rules by deriving their models from `RequestBody` (the kit refuses, at start-up, a
JSON body whose model does not); query and path parameters from `check_parameters`, a dependency of every
kit app. A breach is 422 `validation_failed` like any other invalid field: its `errors` entry names the
field (`loc`) with the stable `type` `invalid_characters` (or pydantic's `less_than_equal` /
`greater_than_equal` for an integer). The OpenAPI says the same (`pattern`, `minimum`, `maximum`), but for
lone surrogates, which no JSON Schema pattern can name.
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from fastapi import Request, params
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, GetJsonSchemaHandler, ValidationInfo, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

INTEGER_MAX = 2**53 - 1
INTEGER_MIN = -INTEGER_MAX

# The rules as JSON Schema patterns (ECMA-262 and Python read them alike): C0 and C1 controls and DEL; a
# multi-line text leaves out tab (\x09), line feed (\x0a) and carriage return (\x0d). Lone surrogates are
# refused too, but no pattern can say so: JSON Schema's regex engines refuse a surrogate in a pattern.
_SINGLE_LINE_CLASS = r"\x00-\x1f\x7f-\x9f"
_MULTI_LINE_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_SURROGATES = r"\ud800-\udfff"
SINGLE_LINE_PATTERN = rf"^[^{_SINGLE_LINE_CLASS}]*$"
MULTI_LINE_PATTERN = rf"^[^{_MULTI_LINE_CLASS}]*$"
_REFUSED = {
    False: re.compile(f"[{_SINGLE_LINE_CLASS}{_SURROGATES}]"),
    True: re.compile(f"[{_MULTI_LINE_CLASS}{_SURROGATES}]"),
}


@dataclass(frozen=True)
class MultiLine:
    """Marks a text field where line breaks and tabs belong: `Annotated[str, MultiLine()]`."""


def refused_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character the rules refuse in `value`, as U+XXXX; None if there is none."""
    found = _REFUSED[multiline].search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def _characters_error(char: str, *, multiline: bool) -> PydanticCustomError:
    allowed = " other than tab and line breaks" if multiline else ""
    return PydanticCustomError(
        "invalid_characters",
        "Text must not contain control characters{allowed} or lone surrogates (found {char}).",
        {"char": char, "allowed": allowed},
    )


def _integer_error(value: int) -> PydanticCustomError:
    if value > INTEGER_MAX:
        return PydanticCustomError("less_than_equal", "Input should be less than or equal to {le}", {"le": INTEGER_MAX})
    return PydanticCustomError(
        "greater_than_equal", "Input should be greater than or equal to {ge}", {"ge": INTEGER_MIN}
    )


def _check(value: object, *, multiline: bool, nested: bool = False) -> None:
    """Raise for the first string or integer in `value` (nested lists and objects too) the rules refuse;
    `nested`: objects in it are `RequestBody` models, which check themselves."""
    if isinstance(value, str):
        if (char := refused_character(value, multiline=multiline)) is not None:
            raise _characters_error(char, multiline=multiline)
    elif isinstance(value, int) and not isinstance(value, bool):
        if not INTEGER_MIN <= value <= INTEGER_MAX:
            raise _integer_error(value)
    elif isinstance(value, dict):
        if nested:
            return  # a `RequestBody` checks its own fields: the error then names the nested field
        # Another nested object (a plain model, a mapping): only what no text may hold, so that a
        # multi-line field inside keeps its line breaks.
        for key, item in value.items():
            _check(key, multiline=True)
            _check(item, multiline=True)
    elif isinstance(value, list | tuple):
        for item in value:
            _check(item, multiline=multiline, nested=nested)


def _is_multiline(annotation: object) -> bool:
    """Whether `MultiLine` marks the annotation, also inside `X | None` or `list[X]`."""
    if any(isinstance(m, MultiLine) for m in getattr(annotation, "__metadata__", ())):
        return True
    return any(_is_multiline(arg) for arg in typing.get_args(annotation))


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models(arg)


@functools.cache
def _multiline_fields(model: type[BaseModel]) -> frozenset[str]:
    """The model's multi-line fields, by name and by alias."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        if any(isinstance(m, MultiLine) for m in info.metadata) or _is_multiline(info.annotation):
            names |= {name, info.alias or name}
    return frozenset(names)


@functools.cache
def _nested_bodies(model: type[BaseModel]) -> frozenset[str]:
    """The model's fields that hold `RequestBody` models (`X`, `X | None`, `list[X]`)."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if any(issubclass(m, RequestBody) for m in _models(info.annotation))
    )


class RequestBody(BaseModel):
    """The base of every request body model: its text and integers follow the rules above, and its
    JSON schema says so (a field's own `pattern` is kept, the rule's added beside it in `allOf`; a `format`
    or an `enum` says enough)."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name
        _check(value, multiline=name in _multiline_fields(cls), nested=name in _nested_bodies(cls))
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        target = handler.resolve_ref_schema(json_schema)
        multiline = _multiline_fields(cls)
        for name, prop in target.get("properties", {}).items():
            declare_bounds(prop, multiline=name in multiline, tighten=True)
        return json_schema


def declare_bounds(schema: dict[str, Any], *, multiline: bool = False, tighten: bool = False) -> None:
    """Add the rules to a JSON schema of a value (in place): the pattern on text (beside its own, if it has
    one), the integer bounds on an integer that states none — and, with `tighten` (a body, where they
    always apply), in place of its own where those are wider. Nested models (`$ref`) declare their own."""
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, ()):
            declare_bounds(branch, multiline=multiline, tighten=tighten)
    if isinstance(schema.get("items"), dict):
        declare_bounds(schema["items"], multiline=multiline, tighten=tighten)
    kind = schema.get("type")
    if kind == "string" and not schema.keys() & {"format", "enum", "const"}:
        ours = MULTI_LINE_PATTERN if multiline else SINGLE_LINE_PATTERN
        if "pattern" not in schema:
            schema["pattern"] = ours
        elif schema["pattern"] != ours and {"pattern": ours} not in schema.get("allOf", []):
            # the field's own pattern (`\S`, an email...) may let controls through: both apply
            schema.setdefault("allOf", []).append({"pattern": ours})
    elif kind == "integer":
        if not schema.keys() & {"maximum", "exclusiveMaximum"} or (tighten and schema.get("maximum", 0) > INTEGER_MAX):
            schema["maximum"] = INTEGER_MAX
        if not schema.keys() & {"minimum", "exclusiveMinimum"} or (tighten and schema.get("minimum", 0) < INTEGER_MIN):
            schema["minimum"] = INTEGER_MIN


# --- query and path parameters ---------------------------------------------------------------------------


def _params(dependant: Dependant, kind: str) -> Iterator[Any]:
    """The dependant's parameters of a kind (`query_params`, `path_params`, `body_params`), its
    dependencies' included."""
    yield from getattr(dependant, kind)
    for dependency in dependant.dependencies:
        yield from _params(dependency, kind)


def _integer_typed(annotation: object) -> bool:
    if annotation is int:
        return True
    return any(_integer_typed(arg) for arg in typing.get_args(annotation) if arg is not type(None))


def _unbounded_integers(route: Any) -> dict[tuple[str, str], tuple[bool, bool]]:
    """(where, name) of the route's integer query and path parameters → whether each lacks a lower and an
    upper bound of its own (pydantic checks those it declares). A walk over a few fields: not worth a
    cache (routes are not hashable)."""
    found: dict[tuple[str, str], tuple[bool, bool]] = {}
    for where in ("query", "path"):
        for param in _params(route.dependant, f"{where}_params"):
            info = param.field_info
            if _integer_typed(info.annotation):
                lower = not any(isinstance(m, Ge | Gt) for m in info.metadata)
                upper = not any(isinstance(m, Le | Lt) for m in info.metadata)
                found[(where, param.alias)] = (lower, upper)
    return found


def _parameter_errors(request: Request) -> Iterator[dict[str, Any]]:
    route = request.scope.get("route")
    integers = _unbounded_integers(route) if hasattr(route, "dependant") else {}
    given = [("query", k, v) for k, v in request.query_params.multi_items()]
    given += [("path", k, v) for k, v in request.path_params.items() if isinstance(v, str)]
    for where, name, value in given:
        problem: PydanticCustomError | None = None
        if (char := refused_character(value)) is not None:
            problem = _characters_error(char, multiline=False)
        elif (where, name) in integers:
            lower, upper = integers[(where, name)]
            number = _integer(value)
            if number is not None and ((upper and number > INTEGER_MAX) or (lower and number < INTEGER_MIN)):
                problem = _integer_error(number)
        if problem is not None:
            yield {"loc": (where, name), "msg": problem.message(), "type": problem.type, "input": value}


def _integer(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None  # not a number at all: pydantic says so


async def check_parameters(request: Request) -> None:
    """Every kit app's dependency: query and path parameters follow the rules (422 `validation_failed`)."""
    errors = list(_parameter_errors(request))
    if errors:
        raise RequestValidationError(errors)


def check_body_models(routes: list[Any]) -> None:
    """Refuse, at start-up, a route whose JSON body is not a `RequestBody` model (`X | None` included):
    its text and integers would reach the database unchecked. Form fields are not JSON bodies."""
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        for param in _params(route.dependant, "body_params"):
            if isinstance(param.field_info, params.Form):
                continue
            models = list(_models(param.field_info.annotation))
            if not models or not all(issubclass(model, RequestBody) for model in models):
                raise TypeError(f"{route.path_format}: the body {param.name} must be a model derived from RequestBody")


def declare_parameter_bounds(parameter: dict[str, Any]) -> None:
    """The rules in an OpenAPI parameter's schema (`phoi_kit.openapi` calls it for every query and path
    parameter): a pattern on text, the bounds above on an integer, where the parameter states none."""
    if parameter.get("in") in ("query", "path") and isinstance(parameter.get("schema"), dict):
        declare_bounds(parameter["schema"])
