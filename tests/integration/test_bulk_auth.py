"""A bulk socket's `?token=` and unknown kinds, per profile, over a real uvicorn (docs/PROTOCOL.md §3.1)."""

import asyncio
import logging

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from mockgw.settings import Settings

from ..conftest import running_gateway

IMPORT = "/api/v1/flow/default/import/triples"
EXPORT = "/api/v1/flow/default/export/triples"
UNKNOWN = "/api/v1/flow/default/import/no-such-kind"
UPGRADED = "upgraded"
JSON_401 = (401, b'{"error":"auth failure"}')
TEXT_401 = (401, b"401: Unauthorized")
UNKNOWN_KIND = (404, b'{"error":"unknown kind"}')


async def outcome(url: str, path: str) -> str | tuple[int, bytes]:
    """UPGRADED if the handshake succeeded, else the refusal's (status, body)."""
    try:
        async with connect(url.replace("http://", "ws://") + path):
            return UPGRADED
    except InvalidStatus as refused:
        return refused.response.status_code, refused.response.body


async def outcomes(profile: str, token: str | None, paths: list[str]) -> list[str | tuple[int, bytes]]:
    async with running_gateway(Settings(profile=profile, token=token), []) as url:
        return [await outcome(url, path) for path in paths]


def with_token(path: str, presented: str | None) -> str:
    return path if presented is None else f"{path}?token={presented}"


PRESENTED = [None, "", "tg_any-key", "s3cret"]  # missing, empty, any, the mock's --token


@pytest.mark.parametrize("profile", ["2.4.5", "2.6.2", "2.10.8"])
def test_2_4_5_plus_an_open_mock_wants_a_non_empty_token_and_takes_any(profile):
    paths = [with_token(IMPORT, t) for t in PRESENTED] + [EXPORT, EXPORT + "?token=", EXPORT + "?token=x"]
    got = asyncio.run(outcomes(profile, None, paths))
    assert got == [JSON_401, JSON_401, UPGRADED, UPGRADED, JSON_401, JSON_401, UPGRADED]


@pytest.mark.parametrize("profile", ["2.4.5", "2.6.2"])
def test_2_4_5_plus_with_a_token_only_that_one_and_the_kind_is_checked_first(profile):
    paths = [with_token(IMPORT, t) for t in PRESENTED] + [with_token(UNKNOWN, t) for t in (None, "", "wrong")]
    got = asyncio.run(outcomes(profile, "s3cret", paths))
    assert got == [JSON_401, JSON_401, JSON_401, UPGRADED, UNKNOWN_KIND, UNKNOWN_KIND, UNKNOWN_KIND]


def test_2_4_5_plus_an_unknown_kind_is_404_on_an_open_mock_without_a_token():
    assert asyncio.run(outcomes("2.6.2", None, [UNKNOWN])) == [UNKNOWN_KIND]


def test_1_7_unchanged_an_open_mock_takes_any_socket():
    paths = [with_token(IMPORT, t) for t in PRESENTED] + [EXPORT, UNKNOWN]
    # An unknown kind upgrades, then the gateway closes (tests/integration/test_bulk.py checks the close).
    assert asyncio.run(outcomes("1.7", None, paths)) == [UPGRADED] * 6


def test_1_7_unchanged_with_a_token_only_that_one_and_the_token_is_checked_first():
    paths = [with_token(IMPORT, t) for t in PRESENTED] + [with_token(UNKNOWN, t) for t in (None, "wrong", "s3cret")]
    got = asyncio.run(outcomes("1.7", "s3cret", paths))
    assert got == [TEXT_401, TEXT_401, TEXT_401, UPGRADED, TEXT_401, TEXT_401, UPGRADED]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_refused_handshake_is_logged_as_refused_not_as_an_app_error():
    # uvicorn's websockets-sansio protocol logged "ASGI callable returned without completing handshake." at
    # ERROR for every denial response (server/denial.py): an alert on uvicorn errors fired on each bad token.
    handler = _Records()

    async def refused() -> list[str | tuple[int, bytes]]:
        async with running_gateway(Settings(profile="2.6.2", token="s3cret", log_level="info"), []) as url:
            logging.getLogger("uvicorn.error").addHandler(handler)  # after the server applied its log config
            try:
                return [await outcome(url, path) for path in (IMPORT + "?token=wrong", UNKNOWN + "?token=x", EXPORT)]
            finally:
                logging.getLogger("uvicorn.error").removeHandler(handler)

    assert asyncio.run(refused()) == [JSON_401, UNKNOWN_KIND, JSON_401]
    logged = [(r.levelname, r.getMessage()) for r in handler.records]
    assert [m for level, m in logged if level == "ERROR"] == []
    assert sum(m.endswith(" 401") for _, m in logged) == 2 and sum(m.endswith(" 404") for _, m in logged) == 1
