"""report.json: the whole report, the compatibility matrix included."""

from __future__ import annotations

import json

from ..events import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=1, default=str) + "\n"
