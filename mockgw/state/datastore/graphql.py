"""The small part of GraphQL a rows (objects) query needs, to filter stored rows. Pure.

Understood: an optional ``query Name($v: T)`` header, then top-level fields
named after row schemas, each with arguments and a flat selection::

    { person(where: {age: {gt: 30}, city: "Paris"}, limit: 10) { name age } }

Arguments: ``limit``; ``where`` (field: value, or field: {eq, ne, gt, gte,
lt, lte, in, contains}); any other argument is an equality on that field.
``$name`` takes its value from the request's ``variables``. Nested selections
are not joined: a nested field is returned as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import QueryError

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)'
    r"|(?P<name>\$?[_A-Za-z][_0-9A-Za-z]*)|(?P<punct>[{}()\[\]:,!=@])|(?P<comment>#[^\n]*))"
)


@dataclass(frozen=True, slots=True)
class FieldQuery:
    name: str  # the row schema
    alias: str
    arguments: dict[str, Any]
    selection: tuple[str, ...]  # empty: every stored field


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            raise QueryError(f"unexpected {text[position]!r} at position {position}")
        kind = match.lastgroup
        if kind is not None and kind != "comment":
            tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, variables: Mapping[str, Any]) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.variables = variables

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def at(self, value: str) -> bool:
        token = self.peek()
        return token is not None and token[1] == value

    def skip_comma(self) -> None:
        if self.at(","):
            self.index += 1

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise QueryError(f"the query ends early; expected {value or 'more'}")
        if value is not None and token[1] != value:
            raise QueryError(f"expected {value!r} at position {token[2]}, found {token[1]!r}")
        self.index += 1
        return token

    def document(self) -> list[FieldQuery]:
        token = self.peek()
        if token is not None and token[1] in ("query", "subscription", "mutation"):
            self.take()
            token = self.peek()
            if token is not None and token[0] == "name":
                self.take()
            if self.at("("):
                self.skip_balanced("(", ")")
        self.take("{")
        fields = []
        while self.peek() is not None and not self.at("}"):
            fields.append(self.field())
            self.skip_comma()
        self.take("}")
        return fields

    def skip_balanced(self, opening: str, closing: str) -> None:
        depth = 0
        while True:
            token = self.take()
            depth += token[1] == opening
            depth -= token[1] == closing
            if depth == 0:
                return

    def field(self) -> FieldQuery:
        kind, name, position = self.take()
        if kind != "name":
            raise QueryError(f"expected a field name at position {position}, found {name!r}")
        alias = name
        if self.at(":"):
            self.take()
            name = self.take()[1]
        arguments: dict[str, Any] = {}
        if self.at("("):
            self.take("(")
            while self.peek() is not None and not self.at(")"):
                argument = self.take()[1]
                self.take(":")
                arguments[argument] = self.value()
                self.skip_comma()
            self.take(")")
        selection: list[str] = []
        if self.at("{"):
            self.take("{")
            while self.peek() is not None and not self.at("}"):
                selection.append(self.field().alias)
                self.skip_comma()
            self.take("}")
        return FieldQuery(name, alias, arguments, tuple(selection))

    def value(self) -> Any:
        kind, text, position = self.take()
        if kind == "string":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape")
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "name":
            if text.startswith("$"):
                if text[1:] not in self.variables:
                    raise QueryError(f"variable {text} at position {position} has no value in 'variables'")
                return self.variables[text[1:]]
            return {"true": True, "false": False, "null": None}.get(text, text)
        if text == "[":
            items = []
            while self.peek() is not None and not self.at("]"):
                items.append(self.value())
                self.skip_comma()
            self.take("]")
            return items
        if text == "{":
            obj = {}
            while self.peek() is not None and not self.at("}"):
                key = self.take()[1]
                self.take(":")
                obj[key] = self.value()
                self.skip_comma()
            self.take("}")
            return obj
        raise QueryError(f"expected a value at position {position}, found {text!r}")


def parse_query(text: str, variables: Mapping[str, Any] | None = None) -> list[FieldQuery]:
    """The top-level fields of `text`; QueryError says what is outside the subset and where."""
    return _Parser(text, variables or {}).document()


def _ordered(test: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(value: Any, operand: Any) -> bool:
        left, right = _number(value), _number(operand)
        return left is not None and right is not None and test(left, right)

    return compare


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(_loose(a) == _loose(b)),
    "ne": lambda a, b: bool(_loose(a) != _loose(b)),
    "gt": _ordered(lambda a, b: a > b),
    "gte": _ordered(lambda a, b: a >= b),
    "lt": _ordered(lambda a, b: a < b),
    "lte": _ordered(lambda a, b: a <= b),
    "in": lambda a, b: isinstance(b, list) and _loose(a) in [_loose(x) for x in b],
    "contains": lambda a, b: isinstance(a, str) and str(b) in a,
}


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _loose(value: Any) -> Any:
    # Rows arrive as strings (upstream stores row values as text); compare "30" with 30.
    number = _number(value) if not isinstance(value, bool) else None
    return number if number is not None else value


def row_matches(row: Mapping[str, Any], conditions: Mapping[str, Any]) -> bool:
    for name, condition in conditions.items():
        value = row.get(name)
        if isinstance(condition, dict):
            for operator, operand in condition.items():
                test = _OPERATORS.get(operator)
                if test is None:
                    raise QueryError(
                        f"unknown filter operator {operator!r} on {name!r}; use one of {', '.join(sorted(_OPERATORS))}"
                    )
                if not test(value, operand):
                    return False
        elif not _OPERATORS["eq"](value, condition):
            return False
    return True


def run_query(fields: list[FieldQuery], rows_of: Callable[[str], Iterable[Mapping[str, Any]]]) -> dict[str, Any]:
    """Answer parsed fields; `rows_of(schema)` yields the stored rows of a schema."""
    data: dict[str, Any] = {}
    for field_query in fields:
        arguments = dict(field_query.arguments)
        limit = arguments.pop("limit", None)
        where = arguments.pop("where", {}) or {}
        arguments.pop("order_by", None)
        conditions = {**arguments, **where} if isinstance(where, dict) else arguments
        found = []
        for row in rows_of(field_query.name):
            if row_matches(row, conditions):
                found.append({k: row.get(k) for k in field_query.selection} if field_query.selection else row)
                if isinstance(limit, int) and len(found) >= limit:
                    break
        data[field_query.alias] = found
    return data
