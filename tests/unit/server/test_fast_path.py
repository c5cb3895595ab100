"""GatewayApp answers the hottest route itself and passes everything else to starlette unchanged."""

import asyncio

import httpx
import pytest

from mockgw.app import create_app
from mockgw.llm import ANTHROPIC, OPENAI
from mockgw.llm.provider import DescriptorDialect
from mockgw.server.fast_path import FLOW_SERVICE, GatewayApp
from mockgw.settings import Settings

from ...conftest import REPO, contracts_from


def app():
    contracts = contracts_from(
        {
            "id": "tc",
            "match": {"service": "text-completion"},
            "response": {"frames": [{"at_s": 0, "response": {"response": "hi", "end_of_stream": True}}]},
        }
    )
    built = create_app(Settings(profile="2.6.2"), contracts)
    assert isinstance(built, GatewayApp)
    return built


@pytest.mark.parametrize(
    ("path", "matches"),
    [
        ("/api/v1/flow/default/service/text-completion", True),
        ("/api/v1/flow/a/service/b/c", False),
        ("/api/v1/flow//service/agent", False),
        ("/api/v1/config", False),
    ],
)
def test_only_the_flow_service_route_takes_the_fast_path(path, matches):
    assert (FLOW_SERVICE.fullmatch(path) is not None) is matches


def test_the_fast_path_answers_as_the_routed_app_would():
    asyncio.run(_fast_path_answers())


async def _fast_path_answers():
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        answered = await client.post("/api/v1/flow/default/service/text-completion", json={"system": "", "prompt": "p"})
        assert answered.status_code == 200
        assert answered.json() == {"response": "hi", "end_of_stream": True}
        refused = await client.post("/api/v1/flow/nope/service/text-completion", json={"system": "", "prompt": "p"})
        assert refused.status_code == 200 and refused.json() == {"error": "Invalid flow default/nope"}
        # everything else goes through starlette's router: a GET of the same path is not a route there
        assert (await client.get("/api/v1/flow/default/service/text-completion")).status_code == 405
        assert (await client.get("/api/metrics")).status_code == 404


def test_the_fake_providers_fixed_paths_are_answered_directly_and_a_descriptor_wins_its_paths():
    from pathlib import Path

    from mockgw.transports.sse import anthropic_messages, openai_chat

    assert app().direct == {("POST", "/v1/chat/completions"): openai_chat, ("POST", "/v1/messages"): anthropic_messages}
    seed = Path(__file__).resolve().parents[2] / "fixtures" / "seed_descriptor.json"
    with_provider = create_app(Settings(profile="2.6.2", provider=seed), [])
    direct = with_provider.direct
    assert set(direct) == {("POST", "/v1/token"), ("POST", "/v1/chat/completions"), ("POST", "/v1/messages")}
    # The seed's chat path is OpenAI's: the descriptor's endpoint answers it, as starlette's route order says.
    assert direct[("POST", "/v1/chat/completions")] is not openai_chat


def test_the_stream_paths_are_the_providers_chat_paths_a_descriptor_first():
    plain = create_app(Settings(profile="2.6.2"), [])
    assert {key: dialect.name for key, dialect in plain.streams.items()} == {
        ("POST", "/v1/chat/completions"): OPENAI.name,
        ("POST", "/v1/messages"): ANTHROPIC.name,
    }
    # The seed's example descriptor chats on /v1/chat/completions too: its dialect answers there, not OpenAI's.
    descriptor = create_app(Settings(profile="2.6.2", provider=REPO / "tests/fixtures/seed_descriptor.json"), [])
    assert isinstance(descriptor.streams[("POST", "/v1/chat/completions")], DescriptorDialect)
    assert descriptor.streams[("POST", "/v1/messages")] is ANTHROPIC
    assert ("POST", "/v1/token") not in descriptor.streams  # the auth step is never a stream
