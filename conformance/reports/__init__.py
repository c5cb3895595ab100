"""Reporters: handlers of the run's event stream (JUnit XML, JSON, self-contained HTML, rich progress)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mockgw.protocol.redact import MASK, redact_text

from ..events import Event, Handler, RunFinished
from .html import render_html
from .jsonreport import render_json
from .junit import render_junit


class FileReports:
    """Writes junit.xml, report.json and report.html into `directory` when the run finishes.

    Every token is masked first (`secrets`, and any ?token=, Bearer or "token" value): a driver's stderr or a
    failed call's arguments may quote one, and a report is a file that CI keeps and shows to others.
    """

    def __init__(self, directory: Path, secrets: Iterable[str | None] = ()) -> None:
        self.directory = directory
        self.secrets = tuple(s for s in secrets if s)
        self.written: list[Path] = []

    def handle(self, event: Event) -> None:
        if not isinstance(event, RunFinished):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        masked = self._masked(event.report)
        for name, render in (("junit.xml", render_junit), ("report.json", render_json), ("report.html", render_html)):
            path = self.directory / name
            text = render(masked)
            for secret in self.secrets:  # and a secret that turns up in any other form
                text = text.replace(secret, MASK)
            path.write_text(text, encoding="utf-8")
            self.written.append(path)

    def _masked(self, value: Any) -> Any:
        """`value` with every string in it masked (before rendering: HTML and XML escape the quotes)."""
        if type(value) is str:
            return redact_text(value, self.secrets)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: self._masked(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
            return dataclasses.replace(value, **fields)
        if isinstance(value, dict):
            return {k: self._masked(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._masked(v) for v in value)
        return value


__all__ = ["FileReports", "Handler", "render_html", "render_json", "render_junit"]
