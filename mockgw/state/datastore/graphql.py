"""Rows (objects) GraphQL queries over stored rows, parsed by graphql-core (the reference implementation).

Any valid GraphQL document parses; a syntax error is GraphQL's own
(`Syntax Error: Unexpected ')'.` with its location), as the gateway's rows
service answers it. The operation (by ``operationName``, or the only one)
is read as top-level fields named after row schemas, each with arguments and
a selection; fragments are expanded::

    query Q($city: String = "Paris") { person(where: {age: {gt: 30}}, city: $city, limit: 10) { name age } }

Arguments: ``limit``; ``where`` (field: value, or field: {eq, ne, gt, gte,
lt, lte, in, contains}); ``order_by`` is accepted and ignored; any other
argument is an equality on that field. ``$name`` takes its value from the
request's ``variables``, else the variable's default. Nested selections are
not joined: a nested field is returned as stored. There is no schema to
validate against (the gateway builds one from the row schemas in its
config), so a field unknown to it is simply a schema with no rows here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    parse,
    value_from_ast_untyped,
)

from ...errors import QueryError


@dataclass(frozen=True, slots=True)
class FieldQuery:
    name: str  # the row schema
    alias: str
    arguments: dict[str, Any]
    selection: tuple[str, ...]  # empty: every stored field


class GraphQLSyntaxError(QueryError):
    """The query is not GraphQL: the message is graphql-core's, as the gateway's rows service relays it."""


def parse_query(
    text: str, variables: Mapping[str, Any] | None = None, operation_name: str | None = None
) -> list[FieldQuery]:
    """The top-level fields of the operation in `text`.

    Raises GraphQLSyntaxError (GraphQL's own message) for a document that does not parse, and
    QueryError for a valid document this store cannot answer (no such operation, a missing variable).
    """
    try:
        document = parse(text)
    except GraphQLError as exc:
        raise GraphQLSyntaxError(str(exc)) from None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operation = _operation([d for d in document.definitions if isinstance(d, OperationDefinitionNode)], operation_name)
    values = _variable_values(operation, variables or {})
    return [_field_query(node, values, fragments) for node in _fields(operation.selection_set, fragments)]


def _operation(operations: list[OperationDefinitionNode], name: str | None) -> OperationDefinitionNode:
    if name is not None:
        for operation in operations:
            if operation.name is not None and operation.name.value == name:
                return operation
        raise QueryError(f"Unknown operation named '{name}'.")
    if len(operations) == 1:
        return operations[0]
    if not operations:
        raise QueryError("Must provide an operation.")
    raise QueryError("Must provide operation name if query contains multiple operations.")


def _variable_values(operation: OperationDefinitionNode, given: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(given)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    return values


def _fields(selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]) -> list[FieldNode]:
    fields: list[FieldNode] = []
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            fields.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            fields.extend(_fields(selection.selection_set, fragments))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                raise QueryError(f"Unknown fragment '{selection.name.value}'.")
            fields.extend(_fields(fragment.selection_set, fragments))
    return fields


def _field_query(
    node: FieldNode, variables: Mapping[str, Any], fragments: Mapping[str, FragmentDefinitionNode]
) -> FieldQuery:
    arguments: dict[str, Any] = {}
    for argument in node.arguments or ():  # None in graphql-core 3.3 when a field has no arguments
        value = value_from_ast_untyped(argument.value, dict(variables))
        if value is Undefined:
            raise QueryError(
                f"argument {argument.name.value!r} of {node.name.value!r} uses a variable with no value in 'variables'"
            )
        arguments[argument.name.value] = value
    selection = tuple((child.alias or child.name).value for child in _fields(node.selection_set, fragments))
    return FieldQuery(node.name.value, (node.alias or node.name).value, arguments, selection)


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
