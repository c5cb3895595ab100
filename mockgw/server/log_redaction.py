"""uvicorn's log handlers, with every token masked (mockgw/protocol/redact.py) at every log level.

uvicorn's access log, and its `WebSocket /api/v1/socket?token=… [accepted]`
line at info, print the request target with its query: a 1.x client's
`?token=` went straight into the CI log. The filter rewrites each record's
message and string arguments before any handler formats them.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from ..protocol.redact import redact_text


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg, self.secrets)
        if isinstance(record.args, tuple):
            record.args = tuple(self._argument(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self._argument(v) for k, v in record.args.items()}
        return True

    def _argument(self, value: object) -> object:
        if isinstance(value, int | float | bool) or value is None:
            return value  # kept as is: %d and %f need numbers
        # Anything else is shown by %s (uvicorn's trace lines format an ASGI scope, headers and query included):
        # replaced by its masked text when that text held a secret.
        text = value if isinstance(value, str) else str(value)
        masked = redact_text(text, self.secrets)
        return masked if masked != text or isinstance(value, str) else value


def redacting_log_config(secrets: tuple[str, ...]) -> dict[str, Any]:
    """uvicorn's own logging configuration, every handler behind a RedactingFilter."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": RedactingFilter, "secrets": secrets}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    return config
