"""Secrets out of everything the mock writes down: journal, logs, reports.

Tokens reach the mock three ways: a first-frame auth frame (`{"type": "auth",
"token": …}`), an `Authorization` header and a `?token=` query value. Each is
replaced by `***` before it is journaled or logged; the right token and every
wrong one tried alike. `redact_secrets` also blanks the configured secrets
wherever else they turn up (an unmatched request's explanation quoting a
header, a client's own body), and every access token the fake LLM provider
issued (`mockgw-at-…`), wherever a proxy puts it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
ISSUED_PREFIX = "mockgw-at-"  # the tokens a descriptor's auth step issues (llm/provider.py)

# token= (or a provider's credential: access_token=, api_key=, client_secret=, …) at the start of a query or
# after ?, & or a quote (a query string quoted in a logged scope)
_QUERY_TOKEN = re.compile(
    r"((?:^|[?&'\"])(?:token|access_token|refresh_token|api_key|apikey|key|client_secret|secret|password)=)"
    r"[^&#\s\"']*",
    re.IGNORECASE,
)
_QUERY_HINTS = ("token=", "key=", "secret=", "password=")
_BEARER = re.compile(r"(\bBearer\s+)[^\s\"',]+", re.IGNORECASE)
_TOKEN_FIELD = re.compile(r'("token"\s*:\s*)"(?:[^"\\]|\\.)*"')
_ISSUED = re.compile(re.escape(ISSUED_PREFIX) + r"[A-Za-z0-9_-]+")


def redact_frame(text: str) -> str:
    """A socket frame's text with the value of a top-level "token" key masked (cheap when there is none)."""
    if '"token"' not in text:
        return text
    try:
        document = json.loads(text)
    except ValueError:
        return _TOKEN_FIELD.sub(rf'\1"{MASK}"', text)  # not JSON: mask whatever looks like one
    if isinstance(document, dict) and "token" in document:
        document["token"] = MASK
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return text


def redact_query(query: str) -> str:
    """`a=1&token=s3cret` -> `a=1&token=***` (also inside a whole path with its query; api_key=, secret=, …)."""
    lowered = query.lower()
    if not any(hint in lowered for hint in _QUERY_HINTS):
        return query
    return _QUERY_TOKEN.sub(rf"\g<1>{MASK}", query)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (MASK if k.lower() in ("authorization", "cookie") else v) for k, v in headers.items()}


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Every token form above, and every occurrence of each given secret, masked in free text (a log line)."""
    text = _BEARER.sub(rf"\g<1>{MASK}", text) if "earer" in text else text
    text = _TOKEN_FIELD.sub(rf'\1"{MASK}"', text) if '"token"' in text else text
    text = redact_query(text)
    text = _ISSUED.sub(MASK, text) if ISSUED_PREFIX in text else text
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def redact_value(value: Any, secrets: Iterable[str | None]) -> Any:
    """A JSON value with "token" keys masked and the given secrets blanked in every string inside it."""
    secrets = tuple(s for s in secrets if s)
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {k: (MASK if k == "token" else redact_value(v, secrets)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets) for v in value]
    return value
