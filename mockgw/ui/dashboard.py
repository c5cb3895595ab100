"""GET /__admin/ui — the dashboard: one static page on the journal's live tail (/__admin/journal/stream).

The page itself holds no data, so it is served to anyone; every figure on it comes from `/__admin/*`, which keeps
its own guard (mockgw/admin/guard.py): with `--admin-token` set, the page asks for the token and sends it as
`Authorization: Bearer`, exactly as any other admin client must (on the live tail, whose WebSocket a browser
cannot give headers, as the first frame: `?auth=frame`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

PAGE = Path(__file__).with_name("dashboard.html")


@cache
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


async def dashboard_page(request: Request) -> Response:
    # no-store: a newer mock's page must not be served from a browser cache against an older admin API.
    return HTMLResponse(_page(), headers={"Cache-Control": "no-store"})
