"""A correct conformance driver written straight against the wire (websockets + httpx), no client library.

It shows the driver protocol (conformance/DRIVER.md) is small, and it is the
base of the negative controls next to it: each subclasses `GoodDriver` and
overrides one hook to add one defect.

    python good_driver.py --gateway 2.6.2     # speak gateway generation 2.6.2 (first-frame auth, …)

One multiplexed socket per run; frames routed by id to each call; id-less
(1.x) error frames fail every pending call; errors, refusals and closes raise.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

EMBEDDING_QUERIES = ("graph-embeddings", "document-embeddings")
GLOBAL_SERVICES = ("config", "flow", "librarian", "knowledge", "collection-management")


class CallFailed(Exception):
    def __init__(self, kind: str, message: str, service_type: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.service_type = service_type


class Closed:
    def __init__(self, reason: str) -> None:
        self.reason = reason


class Undecodable:
    """A frame that could not be parsed: it names no request, so it ends every pending one."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def text_of(response: Any) -> str:
    if isinstance(response, dict):
        for key in ("content", "chunk", "response", "text"):
            if isinstance(response.get(key), str):
                return str(response[key])
    return ""


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text)[:3])


class Mux:
    """One socket: a reader task routes frames to per-request queues."""

    def __init__(self, driver: GoodDriver, ws: ClientConnection) -> None:
        self.driver = driver
        self.ws = ws
        self.queues: dict[str, asyncio.Queue[Any]] = {}
        self.ids = itertools.count(1)
        self.control: asyncio.Queue[Any] = asyncio.Queue()  # id-less replies: auth-ok / auth-failed
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        reason = "connection closed"
        try:
            async for text in self.ws:
                try:
                    data = json.loads(text)
                except ValueError as exc:  # non-JSON text, or a binary frame that is not UTF-8 JSON
                    self.driver.undecodable(self, text, exc)
                    continue
                if isinstance(data, dict) and "id" in data:
                    queue = self.queues.get(str(data["id"]))
                    if queue is not None:
                        queue.put_nowait(data)
                elif isinstance(data, dict) and data.get("type") in ("auth-ok", "auth-failed"):
                    self.control.put_nowait(data)
                elif isinstance(data, dict) and "error" in data:
                    for queue in self.queues.values():  # 1.x: no id, so every pending call fails
                        queue.put_nowait(data)
        except ConnectionClosed as exc:
            reason = f"connection closed: {exc}"
        except OSError as exc:
            reason = f"connection lost: {exc}"
        else:
            reason = f"connection closed: code {self.ws.close_code}"
        for queue in self.queues.values():
            queue.put_nowait(Closed(reason))

    async def request(
        self, service: str, flow: str | None, body: dict[str, Any], workspace: str | None = None
    ) -> asyncio.Queue[Any]:
        request_id = f"req-{next(self.ids)}"
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.queues[request_id] = queue
        if self.reader.done():
            queue.put_nowait(Closed("connection already closed"))
            return queue
        envelope: dict[str, Any] = {"id": request_id, "service": service, "request": body}
        if flow is not None:  # global services have none
            envelope["flow"] = flow
        if workspace is not None:
            envelope["workspace"] = workspace
        await self.ws.send(json.dumps(envelope))
        return queue

    async def refresh(self, token: str) -> None:
        """Re-authenticate this socket with a new credential (first-frame auth, 2.4.5+)."""
        await self.ws.send(json.dumps({"type": "auth", "token": token}))
        reply = await asyncio.wait_for(self.control.get(), 5)
        if reply.get("type") != "auth-ok":
            raise CallFailed("AuthFailed", f"refresh refused: {reply.get('error', reply)}")

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()
        try:
            await self.reader
        except (asyncio.CancelledError, ValueError):  # ValueError: a control's reader that died on a bad frame
            pass


class GoodDriver:
    client = "mockgw-good-driver"
    serialize = False  # run concurrent calls one after another
    socket_per_request = False  # open a socket for every call
    honor_timeout = True  # end a call at timeout_s
    metrics_path = "/query"  # under /api/metrics: the Prometheus endpoint the gateway proxies

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        v = version_tuple(gateway)
        self.first_frame_auth = v >= (2, 4, 5)
        self.typed_terms = v >= (2, 0)
        self.texts = v >= (2, 0)  # embeddings take `texts` from gateway 2.1.5
        self.user = v < (2, 4)
        self.lock = threading.Lock()

    # -- protocol out

    def emit(self, event: str, **fields: Any) -> None:
        with self.lock:
            sys.stdout.write(json.dumps({"event": event, **fields, "t": time.time()}) + "\n")
            sys.stdout.flush()

    # -- hooks the negative controls override

    async def frames(self, queue: asyncio.Queue[Any]) -> AsyncIterator[Any]:
        """Frames of one request, as they arrive."""
        while True:
            yield await queue.get()

    def yield_chunk(self, state: dict[str, Any], text: str) -> None:
        self.emit(
            "chunk",
            run_id=state["run_id"],
            call=state["call"],
            index=state["index"],
            data={"class": "dict", "content": text},
        )
        state["index"] += 1
        state["text"] += text

    def end_stream(self, state: dict[str, Any]) -> None:
        pass

    def keep_result(self, kept: Any, response: Any) -> Any:
        """The non-streaming value so far, after another message: the last one is the answer."""
        return response

    def import_frames(self, metadata: dict[str, Any], triples: list[Any]) -> list[dict[str, Any]]:
        """What to send for one batch of triples: one gateway frame wrapping them."""
        return [{"metadata": metadata, "triples": triples}]

    def exported_items(self, frame: dict[str, Any]) -> list[Any]:
        """The items of one export frame, as handed to the caller."""
        return list(frame.get("triples", []))

    def undecodable(self, mux: Mux, text: str | bytes, exc: ValueError) -> None:
        """A frame that is not JSON: no id to route it by, so every pending call fails (as trustgraph-base does)."""
        for queue in mux.queues.values():
            queue.put_nowait(Undecodable(f"undecodable frame from the gateway ({exc}): {text[:40]!r}"))

    def envelope_error(self, message: str) -> None:
        raise CallFailed("GatewayError", message)

    def service_error(self, error: Any) -> None:
        if isinstance(error, dict):
            raise CallFailed("ApplicationException", f"{error.get('type')}: {error.get('message')}", error.get("type"))
        raise CallFailed("ApplicationException", str(error))

    def rest_auth(self, token: str | None) -> tuple[dict[str, str], dict[str, str]]:
        return ({"Authorization": f"Bearer {token}"} if token is not None else {}), {}

    async def socket_auth(self, url: str, token: str | None) -> ClientConnection:
        if self.first_frame_auth:
            ws = await connect(url, open_timeout=5, close_timeout=1, max_size=52_428_800)
            await ws.send(json.dumps({"type": "auth", "token": token or ""}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if reply.get("type") != "auth-ok":
                await ws.close()
                raise CallFailed("AuthFailed", f"auth failed: {reply.get('error', reply)}")
            return ws
        query = f"?token={token}" if token is not None else ""
        try:
            return await connect(url + query, open_timeout=5, close_timeout=1, max_size=52_428_800)
        except InvalidStatus as exc:
            raise CallFailed("AuthFailed", f"handshake refused: HTTP {exc.response.status_code}") from exc

    # -- requests

    def body(self, service: str, args: dict[str, Any], streaming: bool) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if service in GLOBAL_SERVICES:
            return dict(args)  # the gateway's own request: operation and its fields
        if service == "embeddings":
            text = args.get("text", "")
            body = {"texts": [text]} if self.texts else {"text": text}
        elif service == "triples":
            body = {k: self.term(args[k]) for k in ("s", "p", "o") if k in args}
            body.update(limit=args.get("limit", 10), collection=args.get("collection", "default"))
        elif service in EMBEDDING_QUERIES:
            # As the clients do: the text was embedded first (one_call), the query carries its vector.
            vector = args["vector"]
            body = {"vector": vector} if self.typed_terms else {"vectors": [vector]}
            body.update(limit=args.get("limit", 10), collection=args.get("collection", "default"))
        else:
            body = {k: v for k, v in args.items()}
            body["streaming"] = streaming
        if self.user and service in ("agent", "graph-rag", "document-rag", "triples", *EMBEDDING_QUERIES, "objects"):
            body.setdefault("user", "trustgraph")
        return body

    def term(self, value: Any) -> Any:
        if isinstance(value, str):
            value = {"iri": value}
        if "iri" in value:
            return {"t": "i", "i": value["iri"]} if self.typed_terms else {"v": value["iri"], "e": True}
        return {"t": "l", "v": value["literal"]} if self.typed_terms else {"v": value["literal"], "e": False}

    def ws_url(self, url: str) -> str:
        return re.sub(r"^http", "ws", url.rstrip("/")) + "/api/v1/socket"

    async def rest_call(self, op: dict[str, Any], state: dict[str, Any], quiet: bool = False) -> dict[str, Any]:
        headers, params = self.rest_auth(op.get("token"))
        if op["service"] == "metrics":
            return await self.metrics_call(op, state, headers, params)
        url = f"{op['url'].rstrip('/')}/api/v1/flow/{op.get('flow', 'default')}/service/{op['service']}"
        if op["service"] in GLOBAL_SERVICES:
            url = f"{op['url'].rstrip('/')}/api/v1/{op['service']}"
        async with httpx.AsyncClient(timeout=op.get("timeout_s", 30)) as client:
            if not quiet:
                self.emit("sent", run_id=state["run_id"], call=state["call"])
            body = self.body(op["service"], op.get("args", {}), False)
            if op.get("workspace") is not None:
                body["workspace"] = op["workspace"]  # in the body, as trustgraph-base's REST calls carry it
            response = await client.post(url, json=body, headers=headers, params=params)
        if response.status_code != 200:
            raise CallFailed("ProtocolException", f"Status code {response.status_code}: {response.text[:80]}")
        data = response.json()
        if isinstance(data, dict) and "error" in data:
            self.service_error(data["error"])
        return {"streamed": False, "value": data}

    async def metrics_call(
        self, op: dict[str, Any], state: dict[str, Any], headers: dict[str, str], params: dict[str, str]
    ) -> dict[str, Any]:
        """The gateway proxies /api/metrics/{path} to Prometheus: ask it for the `up` series."""
        url = f"{op['url'].rstrip('/')}/api/metrics{self.metrics_path}"
        async with httpx.AsyncClient(timeout=op.get("timeout_s", 30)) as client:
            self.emit("sent", run_id=state["run_id"], call=state["call"])
            response = await client.get(url, headers=headers, params={**params, "query": "up"})
        if response.status_code != 200:
            raise CallFailed("ProtocolException", f"Status code {response.status_code}: {response.text[:80]}")
        return {"streamed": False, "value": response.json()}

    async def socket_call(
        self, op: dict[str, Any], state: dict[str, Any], mux: Mux | None, quiet: bool = False
    ) -> dict[str, Any]:
        own = None
        if not quiet:
            self.emit("sent", run_id=state["run_id"], call=state["call"])
        if mux is None:
            own = mux = Mux(self, await self.socket_auth(self.ws_url(op["url"]), op.get("token")))
        try:
            streaming = bool(op.get("streaming"))
            flow = None if op["service"] in GLOBAL_SERVICES else op.get("flow", "default")
            body = self.body(op["service"], op.get("args", {}), streaming)
            queue = await mux.request(op["service"], flow, body, op.get("workspace"))
            last: Any = None
            async for frame in self.frames(queue):
                if isinstance(frame, Closed):
                    raise CallFailed("ConnectionClosed", frame.reason)
                if isinstance(frame, Undecodable):
                    raise CallFailed("ProtocolError", frame.reason)
                if "error" in frame and "response" not in frame:
                    error = frame["error"]
                    self.envelope_error(error.get("message", str(error)) if isinstance(error, dict) else str(error))
                    continue
                response = frame.get("response", {})
                if isinstance(response, dict) and "error" in response:
                    self.service_error(response["error"])
                    continue
                last = self.keep_result(last, response)
                if streaming and text_of(response):
                    self.yield_chunk(state, text_of(response))
                if frame.get("complete"):
                    break
            if streaming:
                self.end_stream(state)
                return {"streamed": True, "text": state["text"]}
            return {"streamed": False, "value": last}
        finally:
            if own is not None:
                await own.close()

    async def call(self, op: dict[str, Any], state: dict[str, Any], mux: Mux | None) -> dict[str, Any]:
        if op["service"] in EMBEDDING_QUERIES and "vector" not in op.get("args", {}):
            # Embed the text first, over the same transport, as the clients' embeddings queries do.
            embed = {**op, "service": "embeddings", "args": {"text": op.get("args", {}).get("text", "")}}
            embed["streaming"] = False
            quiet = {**state, "text": ""}
            if op["transport"] == "rest":
                embedded = await self.rest_call(embed, quiet, quiet=True)
            else:
                embedded = await self.socket_call(embed, quiet, mux, quiet=True)
            vectors = (embedded.get("value") or {}).get("vectors") or [[]]
            op = {**op, "args": {**op.get("args", {}), "vector": vectors[0]}}
        if op["transport"] == "rest":
            return await self.rest_call(op, state)
        return await self.socket_call(op, state, mux)

    async def one_call(self, op: dict[str, Any], index: int, mux: Mux | None) -> None:
        state = {"run_id": op["run_id"], "call": index, "index": 0, "text": ""}
        work = self.call(op, state, mux)
        try:
            if self.honor_timeout:
                result = await asyncio.wait_for(work, op.get("timeout_s", 30))
            else:
                result = await work
        except TimeoutError:
            self.emit(
                "error",
                run_id=op["run_id"],
                call=index,
                chunks=state["index"],
                error_type="DriverTimeout",
                message=f"no result within {op.get('timeout_s', 30)} s",
            )
        except CallFailed as exc:
            extra = {"service_error_type": exc.service_type} if exc.service_type else {}
            self.emit(
                "error",
                run_id=op["run_id"],
                call=index,
                chunks=state["index"],
                error_type=exc.kind,
                message=str(exc),
                **extra,
            )
        except (OSError, ConnectionClosed, httpx.HTTPError) as exc:
            self.emit(
                "error",
                run_id=op["run_id"],
                call=index,
                chunks=state["index"],
                error_type=type(exc).__name__,
                message=str(exc),
            )
        else:
            self.emit("result", run_id=op["run_id"], call=index, chunks=state["index"], data=result)

    async def run(self, op: dict[str, Any]) -> None:
        refreshable = op["transport"] == "socket" and self.first_frame_auth and not self.socket_per_request
        if op.get("refresh_token") is not None and not refreshable:
            self.emit("unsupported", run_id=op["run_id"], reason="a token refresh needs first-frame socket auth")
            return
        mux = None
        if op["transport"] == "socket" and not self.socket_per_request:
            try:
                mux = Mux(self, await self.socket_auth(self.ws_url(op["url"]), op.get("token")))
            except (CallFailed, OSError, InvalidStatus) as exc:
                kind = exc.kind if isinstance(exc, CallFailed) else type(exc).__name__
                self.emit("error", run_id=op["run_id"], call=None, phase="connect", error_type=kind, message=str(exc))
                self.emit("done", run_id=op["run_id"])
                return
            if op.get("mode") == "async":
                self.emit("connected", run_id=op["run_id"])
        try:
            n = op.get("concurrency", 1)
            await self.run_calls(op, range(n), mux)
            if op.get("refresh_token") is not None and mux is not None:
                try:
                    await self.refresh(mux, op["refresh_token"])
                except (CallFailed, TimeoutError, ConnectionClosed) as exc:
                    kind = exc.kind if isinstance(exc, CallFailed) else type(exc).__name__
                    self.emit(
                        "error", run_id=op["run_id"], call=None, phase="refresh", error_type=kind, message=str(exc)
                    )
                else:
                    await self.run_calls(op, range(n, 2 * n), mux)
        finally:
            if mux is not None:
                await mux.close()
        self.emit("done", run_id=op["run_id"])

    async def run_calls(self, op: dict[str, Any], calls: range, mux: Mux | None) -> None:
        if self.serialize:
            for i in calls:
                await self.one_call(op, i, mux)
        else:
            await asyncio.gather(*(self.one_call(op, i, mux) for i in calls))

    async def refresh(self, mux: Mux, token: str) -> None:
        """The client's token refresh: a new credential on the socket it has."""
        await mux.refresh(token)

    async def bulk_import(self, op: dict[str, Any]) -> None:
        url = (
            re.sub(r"^http", "ws", op["url"].rstrip("/")) + f"/api/v1/flow/{op.get('flow', 'default')}/import/"
            f"{op['kind']}" + (f"?token={op['token']}" if op.get("token") is not None else "")
        )
        items = op.get("items", [])
        metadata = {
            "id": "cf-import",
            "collection": "default",
            **({"metadata": [], "user": "trustgraph"} if self.user else {"root": ""}),
        }
        self.emit("sent", run_id=op["run_id"], call=0)
        began = time.monotonic()
        try:
            async with connect(url, open_timeout=5, close_timeout=2) as ws:
                for k in range(0, len(items), 100):
                    triples = [{n: self.term(item[n]) for n in ("s", "p", "o")} for item in items[k : k + 100]]
                    for frame in self.import_frames(metadata, triples):
                        await ws.send(json.dumps(frame))
        except (OSError, InvalidStatus, ConnectionClosed) as exc:
            self.emit("error", run_id=op["run_id"], call=0, error_type=type(exc).__name__, message=str(exc))
        else:
            self.emit(
                "result",
                run_id=op["run_id"],
                call=0,
                chunks=0,
                data={"items": len(items), "duration_s": time.monotonic() - began},
            )
        self.emit("done", run_id=op["run_id"])

    async def bulk_export(self, op: dict[str, Any]) -> None:
        url = (
            re.sub(r"^http", "ws", op["url"].rstrip("/")) + f"/api/v1/flow/{op.get('flow', 'default')}/export/"
            f"{op['kind']}" + (f"?token={op['token']}" if op.get("token") is not None else "")
        )
        max_items, max_s = op.get("max_items", 10**9), op.get("max_s", 10)
        self.emit("sent", run_id=op["run_id"], call=0)
        began, items, first, stopped = time.monotonic(), 0, None, "time"
        try:
            async with connect(url, open_timeout=5, close_timeout=2) as ws:
                async with asyncio.timeout(max_s):
                    async for text in ws:
                        for triple in self.exported_items(json.loads(text)):
                            first = first if first is not None else time.monotonic() - began
                            if op.get("emit_items", True):
                                self.emit(
                                    "chunk", run_id=op["run_id"], call=0, index=items, data={"class": "dict", **triple}
                                )
                            items += 1
                        if items >= max_items:
                            stopped = "count"
                            break
                    else:
                        stopped = "closed"
        except TimeoutError:
            pass
        except (OSError, InvalidStatus, ConnectionClosed) as exc:
            self.emit("error", run_id=op["run_id"], call=0, error_type=type(exc).__name__, message=str(exc))
            self.emit("done", run_id=op["run_id"])
            return
        elapsed = time.monotonic() - began
        self.emit(
            "result",
            run_id=op["run_id"],
            call=0,
            chunks=items,
            data={
                "items": items,
                "first_item_s": first,
                "stopped": stopped,
                "stopped_s": elapsed,
                "duration_s": elapsed,
            },
        )
        self.emit("done", run_id=op["run_id"])

    async def handle(self, op: dict[str, Any]) -> bool:
        kind = op.get("op")
        if kind == "hello":
            self.emit(
                "hello",
                client=self.client,
                version=self.gateway,
                language="python",
                protocol=1,
                supports=[
                    "rest",
                    "socket",
                    "async",
                    "async-rest",
                    "bulk",
                    "metrics",
                    "streaming",
                    "token",
                    "workspace",
                    *(["token-refresh"] if self.first_frame_auth else []),
                ],
                native_profiles=[self.gateway],  # it speaks the one generation it was started for
            )
        elif kind == "quit":
            return False
        elif kind == "run":
            await self.run(op)
        elif kind == "bulk-import":
            await self.bulk_import(op)
        elif kind == "bulk-export":
            await self.bulk_export(op)
        elif kind == "metrics":
            await self.run({**op, "op": "run", "transport": "rest", "service": "metrics", "args": {}})
        else:
            self.emit("unsupported", run_id=op.get("run_id"), reason=f"op {kind!r} is not implemented")
        return True

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def pump() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=pump, daemon=True).start()
        while (line := await lines.get()) is not None:
            if not line.strip():
                continue
            try:
                op = json.loads(line)
            except ValueError:
                self.emit("unsupported", run_id=None, reason="not JSON")
                continue
            if not await self.handle(op):
                break


def main(driver_class: type[GoodDriver] = GoodDriver) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", default="2.6.2", help="gateway generation to speak (a mockgw profile name)")
    args = parser.parse_args()
    asyncio.run(driver_class(args.gateway).main())


if __name__ == "__main__":
    main()
