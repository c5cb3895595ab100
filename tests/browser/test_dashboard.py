"""The dashboard in a real browser (headless chromium driven by selenium), against a real `mockgw serve`.

What is asserted is what a user sees: the text in the page's tables and the drawn timeline, while a socket with 15
streams in flight is live.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mockgw.profiles import PROFILES

from ..conftest import TIMEOUT_FACTOR, gateway_process
from .conftest import screenshot
from .relay import Relay

webdriver = pytest.importorskip("selenium.webdriver", reason="the browser tests drive chromium: pip install selenium")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

STREAM_S = 6.0  # each of the 15 streams runs this long, so the page sees them all in flight
FRAMES = 6
CONTRACTS = {
    "profiles": ["2.6.2"],
    "contracts": [
        {
            "id": "ui/slow-stream",
            "match": {"service": "text-completion", "body": {"streaming": {"equals": True}}},
            "response": {
                "frames": [
                    {
                        "at_s": STREAM_S * (k + 1) / FRAMES,
                        "response": {"response": f"w{k} ", "end_of_stream": k == FRAMES - 1},
                    }
                    for k in range(FRAMES)
                ]
            },
        },
        {
            "id": "ui/weather",
            "match": {"service": "agent", "body": {"question": {"regex": "weather"}}},
            "scenario": {"name": "forecast", "set_state": "asked"},
            "response": {"frames": [{"at_s": 0, "response": {"answer": "sunny", "end_of_dialog": True}}]},
        },
    ],
}


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "ui.json").write_text(json.dumps(CONTRACTS))
    return folder


def fifteen_streams(url: str, started: threading.Event, done: list[int]) -> None:
    """One socket, the auth frame, 15 streaming requests at once; read every frame until all 15 complete."""
    with connect("ws" + url.removeprefix("http") + "/api/v1/socket", open_timeout=10) as socket:
        socket.send(json.dumps({"type": "auth", "token": ""}))
        socket.recv(timeout=10)
        for k in range(15):
            request = {"system": "", "prompt": f"q{k}", "streaming": True}
            socket.send(
                json.dumps({"id": f"s{k}", "service": "text-completion", "flow": "default", "request": request})
            )
        started.set()
        while len(done) < 15:
            frame = json.loads(socket.recv(timeout=(STREAM_S + 10) * TIMEOUT_FACTOR))
            if frame.get("complete"):
                done.append(1)


def post(url: str, path: str, body: dict) -> int:
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def table_text(browser: webdriver.Chrome, table_id: str) -> list[list[str]]:
    """The rendered text of a table's body rows, read in one go (the page redraws its tables every second)."""
    return browser.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(r => [...r.cells].map(c => c.innerText))",
        f"#{table_id} tbody tr",
    )


def wait_for(browser: webdriver.Chrome, condition, seconds: float = 10.0):
    return WebDriverWait(browser, seconds * TIMEOUT_FACTOR, poll_frequency=0.1).until(lambda _: condition())


def test_the_dashboard_shows_a_live_15_request_socket_unmatched_requests_contracts_scenarios_and_a_timeline(
    browser: webdriver.Chrome, contracts: Path, tmp_path: Path
) -> None:
    with gateway_process("--contracts", str(contracts)) as url:
        assert post(url, "/api/v1/flow/default/service/agent", {"question": "What is the weather?"}) == 200
        assert post(url, "/api/v1/flow/default/service/agent", {"question": "Tell me a joke"}) == 404
        browser.get(url + "/__admin/ui")
        assert browser.find_element(By.TAG_NAME, "h1").text == "mockgw dashboard"
        wait_for(browser, lambda: browser.find_element(By.ID, "profile").text == "2.6.2")

        started, done = threading.Event(), []
        client = threading.Thread(target=fifteen_streams, args=(url, started, done), daemon=True)
        client.start()
        assert started.wait(10 * TIMEOUT_FACTOR)
        # The live connection, as the page shows it: 15 in flight at once, nothing queued, still open.
        live = wait_for(browser, lambda: [r for r in table_text(browser, "connections") if len(r) > 2 and r[2] == "15"])
        trace, _, in_flight, queued, *_, closed = live[0]
        assert (in_flight, queued, closed) == ("15", "0", "open")
        screenshot(browser, tmp_path / "dashboard-live.png")

        # Unmatched: the joke, with the nearest contract and the field that differed.
        unmatched = table_text(browser, "unmatched")
        assert unmatched == [
            [
                "agent",
                f"ui/weather ({contracts / 'ui.json'})",
                'body.question: expected regex "weather", got "Tell me a joke"',
            ]
        ]
        # Contracts per profile (both serve 2.6.2 only) and the scenario the weather question moved on.
        in_order = [row[0] for row in table_text(browser, "contracts")]
        assert in_order == list(PROFILES)  # in version order: 2.2.5 before 2.10.6
        per_profile = {row[0]: row[1:] for row in table_text(browser, "contracts")}
        assert per_profile["2.6.2"] == ["2", "agent, text-completion"] and per_profile["1.7"][0] == "0"
        assert table_text(browser, "scenarios") == [["forecast", "asked"]]
        # Requests and frames as they happen: the 15 requests are in the live tail.
        events = table_text(browser, "events")
        assert sum(1 for e in events if e[2] == "message.request") >= 15

        # One stream's timeline: click the connection, and each frame of its first request is drawn as sent.
        browser.find_element(By.CSS_SELECTOR, f'#connections tr[data-trace="{trace}"]').click()
        wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#timeline-chart circle.sent"))
        client.join((STREAM_S + 15) * TIMEOUT_FACTOR)
        assert len(done) == 15
        wait_for(
            browser,
            lambda: len(browser.find_elements(By.CSS_SELECTOR, "#timeline-chart circle.sent")) == FRAMES,
            seconds=5,
        )
        assert browser.find_element(By.ID, "timeline-title").text.startswith(f"— {trace}, request s")
        closed = wait_for(
            browser,
            lambda: [r for r in table_text(browser, "connections") if len(r) > 2 and r[-1].startswith("closed")],
        )
        assert closed[0][2] == "0"  # nothing in flight once every stream completed
        browser.execute_script("document.getElementById('timeline').scrollIntoView()")
        screenshot(browser, tmp_path / "dashboard-timeline.png")


def test_with_an_admin_token_the_dashboard_shows_nothing_until_the_token_is_given(
    browser: webdriver.Chrome, contracts: Path
) -> None:
    with gateway_process("--contracts", str(contracts), "--admin-token", "ui-secret") as url:
        browser.get(url + "/__admin/ui")
        login = browser.find_element(By.ID, "login")
        wait_for(browser, login.is_displayed)
        assert not browser.find_element(By.ID, "panels").is_displayed()
        assert browser.find_element(By.ID, "profile").text == "…"  # no admin data reached the page
        browser.find_element(By.ID, "token").send_keys("wrong")
        browser.find_element(By.CSS_SELECTOR, "#login button").click()
        wait_for(browser, lambda: browser.find_element(By.ID, "login-error").text == "that token was refused")
        browser.find_element(By.ID, "token").clear()
        browser.find_element(By.ID, "token").send_keys("ui-secret")
        browser.find_element(By.CSS_SELECTOR, "#login button").click()
        wait_for(browser, lambda: browser.find_element(By.ID, "profile").text == "2.6.2")
        assert browser.find_element(By.ID, "panels").is_displayed()
        assert "ui-secret" not in browser.page_source
        # The live tail is authenticated too (its first frame carries the token): a new request shows up.
        status = browser.find_element(By.ID, "status")
        wait_for(browser, lambda: status.text.startswith("live: following the journal"))
        assert post(url, "/api/v1/flow/default/service/agent", {"question": "weather?"}) == 200
        wait_for(browser, lambda: [r for r in table_text(browser, "events") if r[2:3] == ["message.request"]])


def event_ids(browser: webdriver.Chrome) -> list[int]:
    return [int(row[0]) for row in table_text(browser, "events") if len(row) > 1]


def fetched(browser: webdriver.Chrome) -> list[str]:
    """Every URL the page has fetched since it loaded (the Resource Timing buffer; the tail's WebSocket is not one)."""
    return browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")


def quiet_fetch_count(browser: webdriver.Chrome) -> int:
    """How many fetches the page has made, once none has been added for a second (a poller never gets there)."""
    seen = [len(fetched(browser)), time.monotonic()]

    def quiet() -> int | None:
        count = len(fetched(browser))
        if count != seen[0]:
            seen[:] = [count, time.monotonic()]
        return count if time.monotonic() - seen[1] >= 1.0 else None

    return int(wait_for(browser, quiet))


def journal_event_ids(url: str) -> list[int]:
    with urllib.request.urlopen(url + "/__admin/journal/events?since_event_id=0&limit=10000", timeout=10) as answer:
        return [e["event_id"] for e in json.load(answer)["events"]]


def test_the_dashboard_follows_the_live_tail_and_a_dropped_tail_resumes_without_loss(
    browser: webdriver.Chrome, contracts: Path, tmp_path: Path
) -> None:
    weather = "/api/v1/flow/default/service/agent"
    with gateway_process("--contracts", str(contracts)) as url, Relay(int(url.rsplit(":", 1)[1])) as relay:
        browser.get(relay.url + "/__admin/ui")  # the page, its fetches and its tail all go through the relay
        browser.execute_script("window.sameDocument = true")
        status = browser.find_element(By.ID, "status")
        wait_for(browser, lambda: status.text == "live: following the journal from event 0")

        # A new request appears without a reload, and without the page asking for it: no fetch while idle.
        before = fetched(browser)
        assert post(url, weather, {"question": "weather today?"}) == 200
        wait_for(browser, lambda: [r for r in table_text(browser, "events") if r[2:3] == ["message.request"]])
        assert not [u for u in fetched(browser) if "/__admin/journal/events" in u]
        settled = wait_for(
            browser, lambda: (ids := event_ids(browser)) and ids[0] == journal_event_ids(url)[-1] and ids
        )
        idle = quiet_fetch_count(browser)  # the refresh after those events has finished
        time.sleep(2 * TIMEOUT_FACTOR)
        assert len(fetched(browser)) == idle, "the page fetched while the mock was idle: it is polling"
        assert len(fetched(browser)) > len(before)  # the summaries were refreshed after the events, once

        # The path drops: the page says so and retries; five requests are journaled while it cannot see them.
        relay.cut()
        wait_for(browser, lambda: status.text.startswith(f"tail dropped: reconnecting from event {settled[0]}"))
        for k in range(5):
            assert post(url, weather, {"question": f"weather {k}?"}) == 200
        time.sleep(0.5)  # at least one reconnect is turned away
        relay.resume()
        everything = journal_event_ids(url)
        wait_for(browser, lambda: event_ids(browser)[:1] == everything[-1:], seconds=15)
        assert status.text == f"live: following the journal from event {settled[0]}"
        # Every event exactly once, in order: the table is the journal's own event stream, newest first.
        assert event_ids(browser) == everything[::-1]
        assert sum(1 for r in table_text(browser, "events") if r[2] == "message.request") == 6
        assert browser.execute_script("return window.sameDocument") is True  # never reloaded
        screenshot(browser, tmp_path / "dashboard-resumed.png")


def test_on_a_busy_journal_the_dashboard_opens_on_the_newest_200_events(
    browser: webdriver.Chrome, contracts: Path
) -> None:
    with gateway_process("--contracts", str(contracts)) as url:
        for k in range(60):  # each REST request is 4 events: created, request, frame, closed
            assert post(url, "/api/v1/flow/default/service/agent", {"question": f"weather {k}?"}) == 200
        with urllib.request.urlopen(url + "/__admin/journal", timeout=10) as answer:
            last = json.load(answer)["last_event_id"]
        assert last == journal_event_ids(url)[-1] and last > 200
        browser.get(url + "/__admin/ui")
        status = browser.find_element(By.ID, "status")
        wait_for(browser, lambda: status.text == f"live: following the journal from event {last - 200}")
        wait_for(browser, lambda: len(event_ids(browser)) == 200)
        assert event_ids(browser) == list(range(last, last - 200, -1))
