"""pytest plugin: one test item per conformance case, `test_conformance[<profile>/<case>]`.

    pytest -p conformance.plugin --driver "CMD" [--cf-profile P ...] [--cf-case NAME ...] \\
           [--cf-report DIR] conformance/

(`conformance/` holds no tests, so only the generated items run; `-k` selects
among them.) With several --driver options the id is
`test_conformance[<client>@<profile>/<case>]`. A required failure fails the
item with the verdict's reason; a failure on a profile the client was not
written for is an xfail (the compatibility matrix); unsupported is a skip.
A driver that cannot start becomes failing items, not a crashed session.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mockgw.profiles import PROFILES, resolve_profile

from .cases import OPEN_TOKEN, SECRET, WRONG_TOKEN, Case, select_cases
from .driver import DriverProcess
from .errors import ConformanceFailure, DriverError
from .events import CaseResult, ClientInfo, Report, RunFinished
from .kit_report import client_info, label_of
from .mock import MockError
from .reports import FileReports
from .runner import ProfileRig, RunPlan, start_driver
from .ssekit.session import API_KEY as SSE_KEY
from .ssekit.session import CASES as SSE_CASES
from .ssekit.session import WIRE as SSE_WIRE
from .tolerances import DEFAULT_PATH, as_dict, load_tolerances
from .verdict import Status


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "mockgw conformance kit")
    group.addoption(
        "--driver",
        action="append",
        default=[],
        dest="cf_driver",
        metavar="CMD",
        help="conformance driver command (repeatable)",
    )
    group.addoption(
        "--cf-profile",
        action="append",
        default=[],
        metavar="P",
        help="gateway profile (repeatable; default: the client's native one)",
    )
    group.addoption("--cf-case", action="append", default=[], metavar="NAME", help="case, group or glob")
    group.addoption("--cf-native-profile", action="append", default=[], metavar="P")
    group.addoption("--cf-url", default=None, help="use this running mock")
    group.addoption("--cf-token", default=None, help="the running mock's token")
    group.addoption("--cf-speed", type=float, default=1.0)
    group.addoption("--cf-tolerances", type=Path, default=DEFAULT_PATH)
    group.addoption("--cf-report", type=Path, default=None, help="write junit.xml, report.json, report.html")
    group.addoption(
        "--sse-client",
        action="append",
        default=[],
        dest="cf_sse_client",
        metavar="CMD",
        help="SSE/LLM client driver (repeatable): test_conformance[openai-sse/sse/<case>] items",
    )


class Certification:
    """Session-wide state: drivers (started at collection), the rig of the profile running now, results."""

    def __init__(self, config: pytest.Config) -> None:
        option = config.option
        profiles = []
        for name in option.cf_profile:
            names = list(PROFILES) if name == "all" else [resolve_profile(name).name]
            profiles += [n for n in names if n not in profiles]
        self.plan = RunPlan(
            drivers=list(option.cf_driver),
            profiles=profiles,
            cases=select_cases(option.cf_case),
            url=option.cf_url,
            token=option.cf_token,
            speed=option.cf_speed,
            native=list(option.cf_native_profile),
            tolerances=load_tolerances(option.cf_tolerances),
            sse_clients=list(option.cf_sse_client),
        )
        self.report_dir: Path | None = option.cf_report
        self.sse_results: dict[str, dict[str, CaseResult]] = {}  # client command -> case -> result
        self.drivers: list[tuple[DriverProcess | None, ClientInfo, list[str], str]] = []
        self.rig: ProfileRig | None = None
        self.rig_key: tuple[int, str] | None = None
        self.results: list[CaseResult] = []

    def start(self) -> None:
        for command in self.plan.drivers:
            try:
                driver, info, profiles = start_driver(self.plan, command)
                self.drivers.append((driver, info, profiles, ""))
            except (DriverError, MockError) as exc:
                info = ClientInfo(command, command, {}, list(self.plan.profiles) or ["?"])
                self.drivers.append((None, info, info.native_profiles, str(exc)))

    def run(self, index: int, profile: str, case: Case) -> CaseResult:
        driver, info, _, problem = self.drivers[index]
        if driver is None:
            return CaseResult(info.label, profile, case.name, case.checks, Status.FAIL, problem, True, 0.0)
        if self.rig_key != (index, profile):
            self.close_rig()
            self.rig = ProfileRig(self.plan, driver, info, profile)
            self.rig_key = (index, profile)
        assert self.rig is not None
        result = self.rig.judge(case)
        self.results.append(result)
        return result

    def run_sse(self, command: str, case: str) -> CaseResult:
        """An SSE client's case: the kit certifies the whole client at its first case, then reads from that."""
        if command not in self.sse_results:
            from .ssekit.command import certify_sse_client
            from .ssekit.session import Options

            results = certify_sse_client(Options(command), lambda event: None)
            self.sse_results[command] = {r.case: r for r in results}
            self.results.extend(results)
        return self.sse_results[command][case]

    def close_rig(self) -> None:
        if self.rig is not None:
            self.rig.close()
        self.rig, self.rig_key = None, None

    def finish(self) -> None:
        self.close_rig()
        for driver, *_ in self.drivers:
            if driver is not None:
                driver.stop()
        if self.report_dir is not None and self.results:
            profiles: list[str] = []
            for r in self.results:
                if r.profile not in profiles:
                    profiles.append(r.profile)
            cases = list(dict.fromkeys(r.case for r in self.results))
            sse = [client_info("sse", command, SSE_WIRE, ["sse"]) for command in self.sse_results]
            report = Report(
                profiles=profiles,
                cases=cases,
                tolerances=as_dict(self.plan.tolerances),
                clients=[info for _, info, _, _ in self.drivers] + sse,
                results=self.results,
            )
            secrets = (self.plan.token, SECRET, WRONG_TOKEN, OPEN_TOKEN, SSE_KEY)
            FileReports(self.report_dir, secrets=secrets).handle(RunFinished(report))


def _failure_text(r: CaseResult) -> str:
    lines = [f"{r.client} @ gateway {r.profile}: {r.case}", f"checks: {r.checks}", f"verdict: {r.reason}"]
    if r.measurements:
        lines.append(f"measurements: {r.measurements}")
    if r.stderr_tail:
        lines.append(f"driver stderr: {r.stderr_tail}")
    return "\n".join(lines)


class ConformanceCollector(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        return []


class _VerdictItem(pytest.Item):
    """An item whose outcome is one case's verdict: unsupported skips, a failure shows the verdict's text."""

    def record(self, result: CaseResult) -> None:
        self.user_properties.append(("verdict", result.status.value))
        self.user_properties.append(("reason", result.reason))
        if result.status is Status.UNSUPPORTED:
            pytest.skip(result.reason)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceFailure):
            return _failure_text(excinfo.value.result)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int, str]:
        return "conformance", 0, self.name


class SseItem(_VerdictItem):
    """One case of an SSE client (conformance/ssekit): required, so a failure fails the item."""

    def __init__(self, *, certification: Certification, command: str, case: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.certification = certification
        self.command = command
        self.case = case

    def runtest(self) -> None:
        result = self.certification.run_sse(self.command, self.case)
        self.record(result)
        if result.status is Status.FAIL:
            raise ConformanceFailure(result)


class ConformanceItem(_VerdictItem):
    def __init__(self, *, certification: Certification, index: int, profile: str, case: Case, **kw: Any) -> None:
        super().__init__(**kw)
        self.certification = certification
        self.index = index
        self.profile = profile
        self.case = case

    def runtest(self) -> None:
        result = self.certification.run(self.index, self.profile, self.case)
        self.record(result)
        if result.status is Status.FAIL:
            if not result.required:
                pytest.xfail(f"compatibility (not the client's native profile): {result.reason}")
            raise ConformanceFailure(result)


_KEY = pytest.StashKey[Certification]()
_WANTED = pytest.StashKey[list[str]]()
# An item's id as pytest prints it (`::conformance::test_conformance[2.6.2/stream/integrity/agent]`), or its tail.
_ITEM_ID = re.compile(r"(?:^|::)(test_conformance\[.+\])$")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Take the items' ids given as arguments out of the paths pytest collects, and keep them as the selection.

    The items are made by this plugin, not found under a path, so pytest itself cannot resolve their ids; this
    lets an id copied from `-v` output or a failure summary be pasted back onto the command line.
    """
    wanted, paths = [], []
    for arg in config.args:
        found = _ITEM_ID.search(arg)
        if found:
            wanted.append(found.group(1))
        else:
            paths.append(arg)
    if wanted:
        # This package holds no tests: with only ids given, it is the path that collects nothing else.
        config.args[:] = paths or [str(Path(__file__).resolve().parent)]
        config.stash[_WANTED] = wanted


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.option.cf_driver and not config.option.cf_sse_client:
        return
    certification = Certification(config)
    config.stash[_KEY] = certification
    certification.start()
    collector = ConformanceCollector.from_parent(session, name="conformance")
    several = len(certification.drivers) + len(certification.plan.sse_clients) > 1
    for command in certification.plan.sse_clients:
        prefix = f"{label_of('sse', command).replace(' ', '-')}@" if several else ""
        for case in SSE_CASES:
            items.append(
                SseItem.from_parent(
                    collector,
                    name=f"test_conformance[{prefix}{SSE_WIRE}/{case}]",
                    certification=certification,
                    command=command,
                    case=case,
                )
            )
    for index, (_, info, profiles, _) in enumerate(certification.drivers):
        for profile in profiles:
            for case in certification.plan.cases:
                prefix = f"{info.label.replace(' ', '-')}@" if several else ""
                items.append(
                    ConformanceItem.from_parent(
                        collector,
                        name=f"test_conformance[{prefix}{profile}/{case.name}]",
                        certification=certification,
                        index=index,
                        profile=profile,
                        case=case,
                    )
                )
    _keep_wanted(config, items)


def _keep_wanted(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.stash.get(_WANTED, None)
    if wanted is None:
        return
    names = {item.name for item in items if isinstance(item, ConformanceItem | SseItem)}
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise pytest.UsageError(f"no conformance item {', '.join(unknown)} (see --collect-only for the ids)")
    # Not reported through pytest_deselected: the items were never counted as collected, so pytest would print a
    # negative number selected.
    items[:] = [item for item in items if not isinstance(item, ConformanceItem | SseItem) or item.name in wanted]


def pytest_sessionfinish(session: pytest.Session) -> None:
    certification = session.config.stash.get(_KEY, None)
    if certification is not None:
        certification.finish()
