"""Reporters: handlers of the run's event stream (JUnit XML, JSON, self-contained HTML, rich progress)."""

from __future__ import annotations

from pathlib import Path

from ..events import Event, Handler, RunFinished
from .html import render_html
from .jsonreport import render_json
from .junit import render_junit


class FileReports:
    """Writes junit.xml, report.json and report.html into `directory` when the run finishes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.written: list[Path] = []

    def handle(self, event: Event) -> None:
        if not isinstance(event, RunFinished):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, render in (("junit.xml", render_junit), ("report.json", render_json), ("report.html", render_html)):
            path = self.directory / name
            path.write_text(render(event.report), encoding="utf-8")
            self.written.append(path)


__all__ = ["FileReports", "Handler", "render_html", "render_json", "render_junit"]
