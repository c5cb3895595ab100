"""The live display: a rich progress bar over all cases, one coloured line per verdict, the matrix at the end."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..events import (
    CaseFinished,
    CaseStarted,
    ClientStarted,
    Event,
    ProfileStarted,
    Report,
    RunAborted,
    RunFinished,
    RunStarted,
)
from ..verdict import Status

STYLE = {Status.PASS: "green", Status.FAIL: "bold red", Status.UNSUPPORTED: "dim", Status.INFO: "cyan"}


class ProgressDisplay:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, soft_wrap=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task: TaskID | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.progress.start()
            self.task = self.progress.add_task("certifying", total=event.total)
        elif isinstance(event, ClientStarted):
            c = event.client
            self.console.print(
                f"[bold]{c.label}[/] supports {', '.join(c.hello.get('supports', []))}; "
                f"native profile(s): {', '.join(c.native_profiles)}"
            )
        elif isinstance(event, ProfileStarted):
            self.console.print(f"  gateway profile [bold]{event.profile}[/] at {event.url}")
        elif isinstance(event, CaseStarted) and self.task is not None:
            self.progress.update(self.task, description=f"{event.profile} {event.case}")
        elif isinstance(event, CaseFinished) and self.task is not None:
            r = event.result
            mark = " [red](required)[/]" if r.required_failure else ""
            self.console.print(
                f"    [{STYLE[r.status]}]{r.status.value:13}[/] {r.case:36} {escape(r.reason)}{mark}",
                highlight=False,
                markup=True,
            )
            self.progress.advance(self.task)
        elif isinstance(event, RunAborted):
            self.progress.stop()
            self.console.print(f"[bold red]aborted:[/] {event.message}")
        elif isinstance(event, RunFinished):
            self.progress.stop()
            report = event.report
            self._print_whole(matrix_table(report, self.console))
            failures = report.required_failures
            if failures:
                # Last, where a CI log is read: each failing case with its whole reason.
                self.console.print(f"[bold red]FAILED: {len(failures)} required case(s) failed[/]")
                for r in failures:
                    line = f"{r.client} @ {r.profile} {r.case}: {r.reason}"
                    self.console.print(f"  [red]✗[/] {escape(line)}", highlight=False)
            else:
                self.console.print("[bold green]PASSED: no required case failed[/]")

    def _print_whole(self, table: Table) -> None:
        # Never cut a client name or a count to fit a narrow terminal (or a CI log's guessed 80 columns): the
        # table is printed as wide as it needs, and the terminal wraps it if it must.
        width = self.console.width
        self.console.width = max(width, table_width(self.console, table))  # print(width=) is capped at the width
        try:
            self.console.print(table)
        finally:
            self.console.width = width


def table_width(console: Console, table: Table) -> int:
    return Measurement.get(console, console.options.update_width(10_000), table).maximum


def matrix_table(report: Report, console: Console) -> Table:
    """Clients as rows and profiles as columns; turned the other way when that is too wide for the console and
    there are more profiles than clients (one client over ten profiles: ~430 columns, or ten short rows)."""
    by_client = Table(title="client × gateway profile")
    by_client.add_column("client", no_wrap=True)
    for p in report.profiles:
        by_client.add_column(p, no_wrap=True)
    for client in report.clients:
        by_client.add_row(escape(client.label), *(report.cell_summary(client.label, p) for p in report.profiles))
    if len(report.profiles) <= len(report.clients) or table_width(console, by_client) <= console.width:
        return by_client
    by_profile = Table(title="gateway profile × client")
    by_profile.add_column("profile", no_wrap=True)
    for client in report.clients:
        by_profile.add_column(escape(client.label), no_wrap=True)
    for p in report.profiles:
        by_profile.add_row(p, *(report.cell_summary(client.label, p) for client in report.clients))
    return by_profile
