"""GET / — the page a person sees on opening the mock's URL, against a real uvicorn."""

import asyncio
import re

import httpx

from mockgw.settings import Settings

from ..conftest import contracts_from, running_gateway

ANSWER = {
    "id": "tc",
    "profiles": ["1.7"],
    "match": {"service": "text-completion"},
    "response": {"frames": [{"at_s": 0, "response": {"response": "4"}}]},
}


def home(settings):
    async def run():
        async with running_gateway(settings, contracts_from(ANSWER)) as url, httpx.AsyncClient(base_url=url) as client:
            return url, await client.get("/"), await client.head("/"), await client.get("/nope")

    return asyncio.run(run())


def test_the_home_page_names_the_profile_the_routes_and_the_dashboard():
    url, page, head, elsewhere = home(Settings(profile="1.7"))
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert head.status_code == 200 and head.content == b""
    html = page.text
    assert '<strong id="profile">1.7</strong>' in html
    assert '<span id="serving">1</span> of 1' in html
    assert '<a href="/__admin/ui" id="dashboard">' in html
    for route in (
        "/api/v1/socket",
        "/api/v1/flow/{flow}/service/{kind}",
        "/__admin",
        "/__openapi.json",
        "/v1/messages",
    ):
        assert f"<code>{route}</code>" in html
    assert f"curl -s -X POST {url}/api/v1/flow/default/service/text-completion" in html
    assert "?token=" in html  # 1.x checks the token at the handshake
    assert elsewhere.text == "404: Not Found"  # every other path keeps upstream's answer


def test_the_home_page_tells_a_2_4_5_client_to_authenticate_first_and_loads_nothing_external():
    _, page, _, _ = home(Settings(profile="2.6.2", token="s3cret"))
    html = page.text
    assert '{"type": "auth", "token": "…"}' in html and "a token is required" in html
    assert "s3cret" not in html
    # No external assets: no scripts, stylesheets, images or fonts fetched from anywhere.
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
