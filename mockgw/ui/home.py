"""GET / — a short page naming the profile, the routes and the dashboard.

A deliberate deviation: upstream's aiohttp answers `/` with its text 404. A person who opens the mock's URL in a
browser gets told where things are instead; no client library requests `/` (docs/ADMIN.md).
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..profiles import SocketAuth

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#1d2430}
h1{font-size:1.4rem;margin-bottom:.2rem} .sub{color:#5a6472;margin-top:0}
table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #dde2e8}
code,pre{font:13px ui-monospace,monospace;background:#f2f4f7;border-radius:4px} code{padding:0 .2rem}
pre{padding:.6rem;overflow-x:auto} a{color:#0b5cad}
"""

ROUTES = (
    ("POST", "/api/v1/flow/{flow}/service/{kind}", "a flow service over REST: the recorded session's final message"),
    ("POST", "/api/v1/{kind}", "a global service over REST (flow, config, librarian, knowledge, …)"),
    ("WS", "/api/v1/socket", "the multiplexed socket: requests by id, streams interleaved"),
    ("WS", "/api/v1/flow/{flow}/import/{kind}", "bulk import socket"),
    ("WS", "/api/v1/flow/{flow}/export/{kind}", "bulk export socket"),
    ("GET", "/api/metrics/{path}", "the gateway's Prometheus proxy, answered from contracts"),
    ("POST", "/v1/chat/completions", "a fake OpenAI provider over SSE (contracts with the sse transport)"),
    ("POST", "/v1/messages", "a fake Anthropic provider over SSE (contracts with the sse transport)"),
    ("GET", "/__admin", "the mock's admin API: journal, connections, unmatched requests, contracts (docs/ADMIN.md)"),
    ("GET", "/__admin/ui", "the dashboard"),
    ("GET", "/__metrics", "the mock's own Prometheus metrics"),
    ("GET", "/__openapi.json", "the mock's OpenAPI document"),
)


async def home_page(request: Request) -> Response:
    gateway = request.app.state.gateway
    profile = gateway.profile
    settings = gateway.settings
    base = str(request.base_url).rstrip("/")
    socket_url = "ws" + base.removeprefix("http") + "/api/v1/socket"
    if profile.socket_auth is SocketAuth.FIRST_FRAME:
        auth = 'the first frame on the socket must be <code>{"type": "auth", "token": "…"}</code>'
        auth += " (an empty token when the gateway is open), answered by <code>auth-ok</code>"
    else:
        auth = "a token goes in the socket URL as <code>?token=…</code>, checked before the upgrade"
    rows = "\n".join(
        f"<tr><td>{method}</td><td><code>{escape(path)}</code></td><td>{escape(what)}</td></tr>"
        for method, path, what in ROUTES
    )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mockgw — gateway {escape(profile.name)}</title>
<style>{STYLE}</style></head>
<body>
<h1>mockgw: a mock TrustGraph API gateway</h1>
<p class="sub">speaking profile <strong id="profile">{escape(profile.name)}</strong>
({escape(profile.describes)}) · <span id="serving">{len(gateway.serving())}</span> of {len(gateway.contracts)}
contracts serve it · {"a token is required" if settings.token else "open: no token required"}</p>
<p><a href="/__admin/ui" id="dashboard">Open the dashboard</a> — live connections, requests, unmatched requests,
contracts, scenarios and stream timelines.</p>
<h2>Routes</h2>
<table><tr><th>method</th><th>path</th><th>what it answers</th></tr>
{rows}
</table>
<h2>Try it</h2>
<pre>curl -s -X POST {escape(base)}/api/v1/flow/default/service/text-completion \\
     -d '{{"system": "", "prompt": "What is 2+2?"}}'</pre>
<p>Socket <code>{escape(socket_url)}</code>: {auth}.</p>
</body></html>
"""
    return HTMLResponse(body)
