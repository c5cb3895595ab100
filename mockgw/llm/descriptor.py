"""A provider descriptor (seed 002's LLM-proxy configuration) -> the fake provider it expects (pure).

The descriptor says how a proxy calls its provider: an optional `auth` step
({url, method, headers, data, set_data}) whose answer fields the proxy keeps
(`set_data`: {name, field}), and a `chat` call ({url, method, need_auth,
headers, data, resp, chunk_match, chunk_filter}). Header and data values are
`${var}` templates the proxy fills. Read from the other side, that is a
specification of the provider: which paths and methods exist, what each
request must carry, what the auth answer holds, and how each streamed chunk
looks so that `chunk_match` finds it and the `resp` paths extract its fields.

`load_descriptor` checks a descriptor and names the JSON path of every
problem. `header_problems` / `data_problems` compare a received request with
the templated parts and name the field that is wrong (never echoing a
header's value, nor a credential field's: they carry keys).

Credentials also travel in bodies (an auth step's `data` holding
`client_secret: ${secret_key}`, a chat call's `token: ${access_token}`):
`credential_parts` says which fields those are, and `masked` blanks them
before a body is journaled.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ContractError, ContractsInvalid
from ..templating import MISSING, TEMPLATE, lookup_path
from .dialect import json_text

AUTH_VARS = ("access_token",)  # the usual name of the issued token; any set_data name counts too
MASK = "***"  # as mockgw/protocol/redact.py masks tokens
# A variable or field with such a name holds a credential (api_key, secret_key, access_token, password, …).
CREDENTIAL_NAME = re.compile(r"key|secret|token|passw|credential|auth", re.IGNORECASE)
FILTER_OPS = ("==", "!=")


class DescriptorError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in problems))


@dataclass(frozen=True, slots=True)
class Part:
    """One templated header or data field: `name` must carry a value shaped like `value`."""

    name: str
    value: Any
    free: bool = False  # a convertor transforms the value: only its presence can be checked


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str  # starlette path ("${x}" in the URL became "{x}")
    method: str
    headers: tuple[Part, ...]
    data: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class ChunkFilter:
    name: str  # dotted path in the chunk
    value: Any
    op: str
    field: str  # the resp name the proxy clears when the condition fails


@dataclass(frozen=True, slots=True)
class Descriptor:
    name: str
    auth: Endpoint | None
    set_data: tuple[tuple[str, str], ...]  # (variable name, dotted field of the auth answer)
    chat: Endpoint
    need_auth: bool
    resp: tuple[tuple[str, str], ...]  # (output name, dotted path in a chunk)
    chunk_match: re.Pattern[str]
    line_prefix: str  # what comes before a chunk's JSON on its line, derived from chunk_match
    chunk_filter: ChunkFilter | None

    @property
    def token_variables(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.set_data) | frozenset(AUTH_VARS)

    @property
    def credential_variables(self) -> frozenset[str]:
        """`${…}` names that stand for a secret: the issued tokens, api_key, and any named like a credential."""
        parts = [*(self.auth.headers + self.auth.data if self.auth else ()), *self.chat.headers, *self.chat.data]
        named = {name for part in parts for name in template_names(part.value) if CREDENTIAL_NAME.search(name)}
        return self.token_variables | {"api_key"} | named

    @property
    def stream_field(self) -> str | None:
        """The chat data field filled from `${stream}`: the request streams when it is true."""
        return next((p.name for p in self.chat.data if p.value == "${stream}"), None)


def load_descriptor(raw: Any) -> Descriptor:
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, Mapping):
        raise DescriptorError([("$", "a provider descriptor is a JSON object")])
    if not isinstance(raw.get("name"), str) or not raw.get("name"):
        problems.append(("$.name", "required: the provider's name (a non-empty string)"))
    for key in raw:
        if key not in ("name", "auth", "chat"):
            problems.append((f"$.{key}", "unknown key (a descriptor has name, auth, chat)"))
    auth = set_data = None
    if raw.get("auth") is not None:
        auth = _endpoint(raw["auth"], "$.auth", problems, extra=("set_data",))
        set_data = tuple(_pairs(raw["auth"].get("set_data", []), "$.auth.set_data", "field", problems))
        if not set_data:
            problems.append(("$.auth.set_data", "an auth step must keep at least one field of its answer"))
    chat_raw = raw.get("chat")
    if not isinstance(chat_raw, Mapping):
        problems.append(("$.chat", "required: the chat call ({url, method, headers, data, resp, ...})"))
        raise DescriptorError(problems)
    chat = _endpoint(chat_raw, "$.chat", problems, extra=("need_auth", "resp", "chunk_match", "chunk_filter"))
    need_auth = chat_raw.get("need_auth", False)
    if not isinstance(need_auth, bool):
        problems.append(("$.chat.need_auth", "must be true or false"))
    if need_auth and auth is None:
        problems.append(("$.chat.need_auth", "true, but the descriptor has no auth step to get a token from"))
    resp = tuple(_pairs(chat_raw.get("resp", []), "$.chat.resp", "value", problems))
    if not resp:
        problems.append(("$.chat.resp", "required: which chunk paths the proxy reads ([{name, value}, ...])"))
    pattern, prefix = _chunk_match(chat_raw.get("chunk_match", "data: (.*)"), problems)
    chunk_filter = _chunk_filter(chat_raw.get("chunk_filter"), {n for n, _ in resp}, problems)
    if problems or chat is None:
        raise DescriptorError(problems)
    return Descriptor(
        name=raw["name"],
        auth=auth,
        set_data=set_data or (),
        chat=chat,
        need_auth=bool(need_auth),
        resp=resp,
        chunk_match=pattern,
        line_prefix=prefix,
        chunk_filter=chunk_filter,
    )


def _endpoint(raw: Any, path: str, problems: list[tuple[str, str]], extra: tuple[str, ...]) -> Endpoint | None:
    if not isinstance(raw, Mapping):
        problems.append((path, "must be an object"))
        return None
    for key in raw:
        if key not in ("url", "method", "headers", "data", *extra):
            problems.append(
                (f"{path}.{key}", f"unknown key (expected one of url, method, headers, data, {', '.join(extra)})")
            )
    url = raw.get("url")
    if not isinstance(url, str) or not url:
        problems.append((f"{path}.url", "required: the URL the proxy calls"))
        url = "/"
    method = raw.get("method", "POST")
    if method not in ("GET", "POST", "PUT"):
        problems.append((f"{path}.method", f"{method!r} is not GET, POST or PUT"))
    route = TEMPLATE.sub(lambda m: "{" + m.group(1).replace(".", "_") + "}", urlsplit(url).path or "/")
    return Endpoint(
        path=route,
        method=str(method),
        headers=tuple(_parts(raw.get("headers", []), f"{path}.headers", problems)),
        data=tuple(_parts(raw.get("data", []), f"{path}.data", problems)),
    )


def _parts(raw: Any, path: str, problems: list[tuple[str, str]]) -> Iterator[Part]:
    if isinstance(raw, Mapping):  # {"name": value} is accepted as the short form
        for name, value in raw.items():
            yield Part(str(name), value)
        return
    if not isinstance(raw, list):
        problems.append((path, "must be a list of {name, value} (or an object of name: value)"))
        return
    for k, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or "value" not in item:
            problems.append((f"{path}[{k}]", "each entry needs a name (string) and a value"))
            continue
        unknown = set(item) - {"name", "value", "convertor"}
        if unknown:
            problems.append((f"{path}[{k}]", f"unknown key {sorted(unknown)[0]!r} (name, value, convertor)"))
        yield Part(item["name"], item["value"], free="convertor" in item)


def _pairs(raw: Any, path: str, second: str, problems: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    if not isinstance(raw, list):
        problems.append((path, f"must be a list of {{name, {second}}}"))
        return
    for k, item in enumerate(raw):
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get(second), str)
        ):
            problems.append((f"{path}[{k}]", f"each entry needs a name and a {second} (strings)"))
            continue
        yield item["name"], item[second]


def _chunk_match(raw: Any, problems: list[tuple[str, str]]) -> tuple[re.Pattern[str], str]:
    path = "$.chat.chunk_match"
    if not isinstance(raw, str):
        problems.append((path, "must be a regular expression (string)"))
        return re.compile("(.*)"), ""
    try:
        pattern = re.compile(raw)
    except re.error as exc:
        problems.append((path, f"not a valid regular expression: {exc}"))
        return re.compile("(.*)"), ""
    # The mock writes `prefix + JSON`: the prefix is the pattern's text before its first group, unescaped.
    head = raw.split("(", 1)[0].lstrip("^")
    prefix = re.sub(r"\\(.)", r"\1", head)
    probe = prefix + '{"probe": 1}'
    found = pattern.search(probe)
    if pattern.groups < 1 or found is None or found.group(1) != '{"probe": 1}':
        problems.append((path, f"mockgw cannot write a line this matches with the chunk as its first group: {raw!r}"))
    elif not prefix.startswith("data:"):
        problems.append(
            (path, f"mockgw serves chunks as SSE data lines: the pattern must match 'data: <chunk>' ({raw!r})")
        )
    return pattern, prefix


def _chunk_filter(raw: Any, resp_names: set[str], problems: list[tuple[str, str]]) -> ChunkFilter | None:
    if raw is None:
        return None
    path = "$.chat.chunk_filter"
    if not isinstance(raw, Mapping) or not {"name", "value", "field"} <= set(raw):
        problems.append((path, "needs name (a chunk path), value, field (a resp name) and optionally op"))
        return None
    op = raw.get("op", "==")
    if op not in FILTER_OPS:
        problems.append((f"{path}.op", f"{op!r} is not one of {', '.join(FILTER_OPS)}"))
    if raw["field"] not in resp_names:
        problems.append(
            (f"{path}.field", f"{raw['field']!r} is not a name in chat.resp ({', '.join(sorted(resp_names))})")
        )
    return ChunkFilter(str(raw["name"]), raw["value"], str(op), str(raw["field"]))


# --- the proxy's side, as the mock reads it -------------------------------------------------------------------


def filter_keeps(chunk_filter: ChunkFilter, chunk: Any) -> bool:
    """Whether a proxy applying `chunk_filter` keeps the filtered field of `chunk` (else it clears it)."""
    value = lookup_path(chunk, chunk_filter.name)
    equal = value is not MISSING and value == chunk_filter.value
    return not equal if chunk_filter.op == "!=" else equal


def template_names(value: Any) -> list[str]:
    """The `${…}` variable names in a templated value (none in a non-string)."""
    return TEMPLATE.findall(value) if isinstance(value, str) else []


def credential_parts(descriptor: Descriptor, parts: tuple[Part, ...], *, auth_step: bool) -> frozenset[str]:
    """The data fields of `parts` that carry a credential, by name.

    In the auth step every templated field counts (what a proxy fills in there is what it authenticates
    with); elsewhere a field filled from a credential variable. In both, a field named like one
    (`client_secret`, `api_key`) counts even with a literal value.
    """
    secret = descriptor.credential_variables
    return frozenset(
        part.name
        for part in parts
        if CREDENTIAL_NAME.search(part.name)
        or (auth_step and template_names(part.value))
        or any(name in secret for name in template_names(part.value))
    )


def masked(body: Any, names: frozenset[str]) -> Any:
    """`body` with the value of each field in `names` replaced by the mask (a copy; non-objects unchanged)."""
    if not names or not isinstance(body, Mapping):
        return body
    return {k: (MASK if k in names else v) for k, v in body.items()}


def uses(part: Part, names: Iterator[str] | frozenset[str] | tuple[str, ...]) -> bool:
    """Whether the part's template names any of `names`."""
    return isinstance(part.value, str) and any(f"${{{name}}}" in part.value for name in names)


def template_pattern(template: str) -> tuple[re.Pattern[str], list[str]]:
    """`Bearer ${access_token}` -> ^Bearer (?P<v0>.+)$ and the variable names, in order."""
    names: list[str] = []
    pieces: list[str] = []
    last = 0
    for m in TEMPLATE.finditer(template):
        pieces.append(re.escape(template[last : m.start()]))
        pieces.append(f"(?P<v{len(names)}>.+?)")
        names.append(m.group(1))
        last = m.end()
    pieces.append(re.escape(template[last:]))
    return re.compile("^" + "".join(pieces) + "$", re.DOTALL), names


def header_problems(
    parts: tuple[Part, ...], headers: Mapping[str, str], known: Mapping[str, Any]
) -> Iterator[tuple[Part, str, str]]:
    """(part, field, reason) per wrong header."""
    for part in parts:
        field = f"headers.{part.name}"
        value = headers.get(part.name.lower())
        if value is None:
            yield part, field, f"missing (the descriptor sends {part.name}: {part.value})"
            continue
        if part.free or not isinstance(part.value, str):
            continue
        found = captured(part.value, value)
        if found is None:
            yield part, field, f"does not have the shape {part.value!r}"
            continue
        for name, got in found.items():
            if name in known and known[name] is not None and got != known[name]:
                yield part, field, f"carries a ${{{name}}} that is not the expected one"


def captured(template: str, value: str) -> dict[str, str] | None:
    pattern, names = template_pattern(template)
    m = pattern.match(value)
    if m is None:
        return None
    return {name: m.group(f"v{k}") for k, name in enumerate(names)}


def data_problems(
    parts: tuple[Part, ...], body: Any, secret: frozenset[str] = frozenset()
) -> Iterator[tuple[str, str]]:
    """(field, reason) per wrong data field; a field in `secret` is named, its value never quoted."""
    for part in parts:
        field = f"data.{part.name}"
        if not isinstance(body, Mapping) or part.name not in body:
            yield field, f"missing (the descriptor sends {part.name}: {json_text(part.value)})"
            continue
        got = body[part.name]
        shown = "the value sent" if part.name in secret else json_text(got)
        if part.free or (isinstance(part.value, str) and TEMPLATE.fullmatch(part.value)):
            continue  # a whole-value template (or a converted one): any value
        if isinstance(part.value, str) and "${" in part.value:
            if not isinstance(got, str) or captured(part.value, got) is None:
                yield field, f"{shown} does not have the shape {part.value!r}"
        elif got != part.value:
            expected = "the descriptor's value" if part.name in secret else json_text(part.value)
            yield field, f"expected {expected}, got {shown}"


def set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Put `value` at a dotted path, making dicts (and lists for numeric parts) on the way."""
    parts = dotted.split(".")
    node: Any = target
    for part, following in zip(parts, parts[1:]):
        child: Any = [] if following.isdigit() else {}
        if isinstance(node, list):
            index = int(part)
            while len(node) <= index:
                node.append(None)
            if node[index] is None:
                node[index] = child
            node = node[index]
        else:
            node = node.setdefault(part, child)
    last = parts[-1]
    if isinstance(node, list):
        index = int(last)
        while len(node) <= index:
            node.append(None)
        node[index] = value
    else:
        node[last] = value


def chunk_for(descriptor: Descriptor, values: Mapping[str, Any]) -> dict[str, Any]:
    """A chunk the proxy's `resp` paths read `values` out of (names without a value are null)."""
    chunk: dict[str, Any] = {}
    for name, path in descriptor.resp:
        set_path(chunk, path, values.get(name))
    return chunk


def chunk_line(descriptor: Descriptor, chunk: Any) -> str:
    return descriptor.line_prefix + json_text(chunk)


def auth_answer(descriptor: Descriptor, token: str, lifetime_s: float) -> dict[str, Any]:
    """The auth endpoint's JSON: every set_data field holds the issued token; and its lifetime."""
    answer: dict[str, Any] = {}
    for _, field in descriptor.set_data:
        set_path(answer, field, token)
    answer.setdefault("expires_in", int(lifetime_s))
    return answer


def read_descriptor(path: Path) -> Descriptor:
    """A descriptor file; ContractsInvalid names the file, JSON path and reason of every problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContractsInvalid([ContractError(path, "$", f"cannot read: {exc.strerror or exc}")]) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractsInvalid([ContractError(path, "$", f"not valid JSON: {exc}")]) from None
    try:
        return load_descriptor(raw)
    except DescriptorError as exc:
        raise ContractsInvalid([ContractError(path, where, reason) for where, reason in exc.problems]) from None
