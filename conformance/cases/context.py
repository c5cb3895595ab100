"""A case (data plus one `execute(ctx) -> Verdict`) and the context it runs in: the driver, the mock, the tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mockgw.profiles import Profile

from .. import verdict as v
from ..driver import DriverProcess, Hello
from ..mock import Admin
from ..observed import DriverRun, Wire, wire_from_journal
from ..tolerances import Tolerances

OPEN_TOKEN = "tg_cf_open"  # presented to the open mock (which accepts any), so auth never gets in the way
SECRET = "tg_cf_secret"  # the secured mock's token
WRONG_TOKEN = "tg_cf_wrong"


class Default:
    """Marks an argument left at its default (None is a meaningful token: "construct without one")."""


DEFAULT = Default()


@dataclass(slots=True)
class CaseContext:
    driver: DriverProcess
    hello: Hello
    profile: Profile
    url: str
    admin: Admin
    tolerances: Tolerances
    token: str | None  # what to present (None: construct the client without one)
    bulk_served: bool = False
    mock_token: str | None = None  # what the kit's own sockets present, whatever the client supports
    runs: list[tuple[DriverRun, Wire]] = field(default_factory=list)

    def perform(self, op: dict[str, Any], timeout_s: float, *, reset: bool = True) -> tuple[DriverRun, Wire]:
        """Reset the journal, run `op` within its timeout plus grace, read the journal back."""
        if reset:
            self.admin.reset()
        op = {"run_id": self.driver.next_run_id(), **op}
        self.admin.before_op(op)
        run = self.driver.perform(op, timeout_s + self.tolerances.grace_s)
        wire = wire_from_journal(self.admin.journal())
        self.runs.append((run, wire))
        return run, wire

    def call(
        self,
        service: str,
        args: dict[str, Any],
        *,
        transport: str = "socket",
        mode: str = "sync",
        streaming: bool = False,
        concurrency: int = 1,
        timeout_s: float = 10.0,
        flow: str = "default",
        token: str | None | Default = DEFAULT,
        reset: bool = True,
        workspace: str | None = None,
        refresh_token: str | None = None,
    ) -> tuple[DriverRun, Wire]:
        """Run `service` through the driver; `token` defaults to the context's."""
        op = {
            "op": "run",
            "url": self.url,
            "token": self.token if isinstance(token, Default) else token,
            "transport": transport,
            "mode": mode,
            "service": service,
            "flow": flow,
            "args": args,
            "streaming": streaming,
            "concurrency": concurrency,
            "timeout_s": timeout_s,
        }
        if mode == "async" and transport == "socket":
            op["connect"] = "eager"
        if workspace is not None:
            op["workspace"] = workspace
        if refresh_token is not None:
            op["refresh_token"] = refresh_token
        return self.perform(op, timeout_s, reset=reset)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    checks: str  # one line: what passing means
    needs: frozenset[str]  # driver `supports` tokens
    execute: Callable[[CaseContext], v.Verdict]
    secured: bool = False  # runs against the mock that enforces a token
    bulk: bool = False  # needs the mock's bulk import/export transport

    @property
    def group(self) -> str:
        return self.name.split("/")[0]


def requires(*tokens: str) -> frozenset[str]:
    return frozenset(tokens)
