"""RDF terms on the wire, in both encodings (docs/PROTOCOL.md §3.3).

1.x (≤ 1.9): ``{"v": "http://ex/a", "e": true}`` (IRI) / ``{"v": "A", "e": false}`` (literal).
2.0+: ``{"t": "i", "i": …}``, ``{"t": "l", "v": …, "dt"?, "ln"?}``, ``{"t": "b", "d": …}``,
``{"t": "t", "tr": {"s", "p", "o"}}`` (quoted triple).

Pure: checking a term (with the JSON path of what is wrong), converting
between the encodings, and a hashable key that compares terms of either.
"""

from __future__ import annotations

from typing import Any

# The key that carries a typed term's value, by its `t`.
TYPED_VALUE_KEY: dict[str, str] = {"i": "i", "l": "v", "b": "d", "t": "tr"}

Problem = tuple[str, str]  # (JSON path relative to the term, reason)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def check_term(term: Any, typed: bool) -> Problem | None:
    """Why `term` is not a term of this encoding, or None. The path is relative (".t", ".v")."""
    if not isinstance(term, dict):
        return "", f"a term must be an object, got {json_type(term)}"
    if typed:
        return _check_typed(term)
    return _check_ve(term)


def _check_typed(term: dict[str, Any]) -> Problem | None:
    if "t" not in term:
        hint = (
            ' (that is the 1.x {"v","e"} encoding; this profile uses typed terms {"t": …})'
            if "e" in term or "v" in term
            else ""
        )
        return ".t", f"missing key 't'{hint}"
    kind = term["t"]
    key = TYPED_VALUE_KEY.get(kind) if isinstance(kind, str) else None
    if key is None:
        return ".t", f"{kind!r} is not a term type (one of 'i', 'l', 'b', 't')"
    if key not in term:
        return f".{key}", f"missing key {key!r}, which a term of type {kind!r} carries"
    value = term[key]
    if kind != "t":
        return None if isinstance(value, str) else (f".{key}", f"must be a string, got {json_type(value)}")
    if not isinstance(value, dict):
        return ".tr", f"a quoted triple must be an object, got {json_type(value)}"
    for part in ("s", "p", "o"):
        if part not in value:
            return f".tr.{part}", f"missing key {part!r}"
        problem = (
            _check_typed(value[part])
            if isinstance(value[part], dict)
            else ("", f"a term must be an object, got {json_type(value[part])}")
        )
        if problem is not None:
            return f".tr.{part}{problem[0]}", problem[1]
    return None


def _check_ve(term: dict[str, Any]) -> Problem | None:
    hint = ' (that is the 2.x typed encoding {"t": …}; this profile uses {"v","e"})' if "t" in term else ""
    if "v" not in term:
        return ".v", f"missing key 'v'{hint}"
    if not isinstance(term["v"], str):
        return ".v", f"must be a string, got {json_type(term['v'])}"
    if "e" not in term:
        return ".e", f"missing key 'e'{hint}"
    if not isinstance(term["e"], bool):
        return ".e", f"must be true or false, got {json_type(term['e'])}"
    return None


def looks_like_iri(text: str) -> bool:
    return "://" in text or text.startswith("urn:")


def convert_term(term: Any, typed: bool) -> dict[str, Any]:
    """`term` (either encoding, or a plain string: IRI if it looks like one) in the wanted encoding."""
    if isinstance(term, str):
        is_iri = looks_like_iri(term)
        if typed:
            return {"t": "i", "i": term} if is_iri else {"t": "l", "v": term}
        return {"v": term, "e": is_iri}
    if not isinstance(term, dict):
        raise TypeError(f"a term must be a string or an object, got {json_type(term)}")
    if "t" in term:
        if typed:
            return term
        kind = term["t"]
        if kind == "i":
            return {"v": term.get("i", ""), "e": True}
        if kind == "b":
            return {"v": term.get("d", ""), "e": False}
        if kind == "t":
            raise ValueError("a quoted triple has no 1.x encoding")
        return {"v": term.get("v", ""), "e": False}
    if typed:
        value = term.get("v", "")
        return {"t": "i", "i": value} if term.get("e") else {"t": "l", "v": value}
    return term


def term_key(term: Any) -> tuple[Any, ...]:
    """A hashable identity of a term of either encoding: ("i", iri), ("l", text), ("b", id), ("t", …)."""
    if not isinstance(term, dict):
        return ("l", term) if not isinstance(term, str) or not looks_like_iri(term) else ("i", term)
    if "t" in term:
        kind = term["t"]
        if kind == "t":
            quoted = term.get("tr") or {}
            return ("t", term_key(quoted.get("s")), term_key(quoted.get("p")), term_key(quoted.get("o")))
        return (kind, term.get(TYPED_VALUE_KEY.get(kind, "v"), ""))
    return ("i" if term.get("e") else "l", term.get("v", ""))
