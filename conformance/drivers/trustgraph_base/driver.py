"""Reference conformance driver for the PyPI ``trustgraph-base`` client.

Speaks the JSON-lines protocol of ``conformance/DRIVER.md`` on stdin/stdout and
performs each operation through the client's public API, as its users would:
``Api(url, token=...).flow().id(f).agent(...)`` for REST,
``api.socket().flow(f).agent(..., streaming=True)`` for the sync socket,
``api.async_socket()`` / ``api.async_flow()`` for async, ``api.bulk()`` /
``api.async_bulk()`` for import/export, ``api.config()`` / ``flow()`` / ``library()`` / ``knowledge()`` /
``collection()`` for the global services (REST only: the client has no socket or async API for them).

Runs inside the client's own virtualenv (see ``make_venv.sh``); stdlib + the
client only.  Version differences are found by feature detection (which
methods and parameters exist), not by parsing the version string.

Ops are handled one at a time, in order.  A call that outlives ``timeout_s``
is reported as a ``DriverTimeout`` error; the driver stops the event loop the
call runs on where it can, and otherwise abandons the (daemon) thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import os
import random
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

PROTOCOL_VERSION = 1

# Protocol lines go to the real stdout; anything the client library prints goes
# to stderr, so it can never corrupt the protocol stream.
_PROTOCOL_OUT = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
sys.stdout = sys.stderr
_EMIT_LOCK = threading.Lock()

import trustgraph.api as tg  # noqa: E402  (after the stdout swap on purpose)


def log(message: str) -> None:
    print(f"[driver] {message}", file=sys.stderr, flush=True)


def emit(event: str, **fields: Any) -> None:
    """Write one protocol event line, stamped with wall and monotonic time."""
    line = {"event": event, **fields, "t": time.time(), "mono": time.monotonic()}
    text = json.dumps(line, default=_json_fallback)
    with _EMIT_LOCK:
        _PROTOCOL_OUT.write(text + "\n")
        _PROTOCOL_OUT.flush()


def _json_fallback(value: Any) -> Any:
    return jsonable(value)


def jsonable(value: Any) -> Any:
    """Turn a client return value or chunk into plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"class": type(value).__name__, **data}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, str):
        return str(value)  # Uri / Literal are str subclasses
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return {"class": type(value).__name__, "repr": repr(value)}


def chunk_data(chunk: Any) -> dict[str, Any]:
    if isinstance(chunk, str):
        return {"class": "str", "content": str(chunk)}
    data = jsonable(chunk)
    if isinstance(data, dict) and "class" in data:
        return data
    return {"class": type(chunk).__name__, "value": data}


def chunk_text(chunk: Any) -> str:
    if isinstance(chunk, str):
        return chunk
    content = getattr(chunk, "content", None)
    return content if isinstance(content, str) else ""


# --------------------------------------------------------------------------
# What this client can do


def client_version() -> str:
    try:
        return package_version("trustgraph-base")
    except PackageNotFoundError:
        return "unknown"


def api_params() -> set[str]:
    return set(inspect.signature(tg.Api.__init__).parameters)


def supports() -> list[str]:
    found = ["rest"]
    features = {
        "socket": "socket",
        "async": "async_socket",
        "async-rest": "async_flow",
        "bulk": "bulk",
        "async-bulk": "async_bulk",
        "metrics": "metrics",
    }
    found += [name for name, attr in features.items() if hasattr(tg.Api, attr)]
    if hasattr(tg.Api, "socket"):
        found.append("streaming")
    params = api_params()
    if "token" in params:
        found.append("token")
    if "workspace" in params:
        found.append("workspace")
    return found


class Unsupported(Exception):
    """The installed client cannot do what the op asks; reported, not raised."""


class DriverTimeout(Exception):
    pass


# Flow-scoped services: protocol name -> client method name.
FLOW_METHODS = {
    "agent": "agent",
    "text-completion": "text_completion",
    "graph-rag": "graph_rag",
    "document-rag": "document_rag",
    "prompt": "prompt",
    "embeddings": "embeddings",
    "graph-embeddings": "graph_embeddings_query",
    "document-embeddings": "document_embeddings_query",
    "triples": "triples_query",
    "rows": "rows_query",
    "objects": "objects_query",
    "mcp-tool": "mcp_tool",
}

# Kit argument names that a client may spell differently, first match wins.
ALIASES = {"query": ("query", "question"), "question": ("question", "query")}


def make_api(op: dict[str, Any]) -> Any:
    params = api_params()
    kwargs: dict[str, Any] = {}
    if op.get("token") is not None:
        if "token" not in params:
            raise Unsupported("Api() of this client takes no token")
        kwargs["token"] = op["token"]
    if op.get("workspace") is not None:
        if "workspace" not in params:
            raise Unsupported("Api() of this client takes no workspace (1.x: pass args.user)")
        kwargs["workspace"] = op["workspace"]
    if op.get("client_timeout_s") is not None:
        kwargs["timeout"] = op["client_timeout_s"]
    return tg.Api(op["url"], **kwargs)


def term_for(value: Any, kinds: tuple[type, type] | None) -> Any:
    """Kit term {"iri": x} / {"literal": x, "datatype"?, "language"?} or str -> client value."""
    if not isinstance(value, dict) or kinds is None:
        return value if not isinstance(value, dict) else value.get("iri", value.get("literal"))
    uri, literal = kinds
    if "iri" in value:
        return uri(value["iri"])
    params = inspect.signature(literal.__init__).parameters
    extra = {k: value[k] for k in ("datatype", "language") if k in value and k in params}
    return literal(value["literal"], **extra)


def knowledge_types() -> tuple[type, type] | None:
    try:
        from trustgraph.knowledge import Literal, Uri
    except ImportError:
        return None
    return Uri, Literal


def api_types() -> tuple[type, type] | None:
    try:
        from trustgraph.api.types import Literal, Uri
    except ImportError:
        return None
    return Uri, Literal


def build_call(
    method: Callable[..., Any], service: str, args: dict[str, Any], streaming: bool | None, rest: bool
) -> dict[str, Any]:
    """Map kit args onto this client method's signature."""
    params = inspect.signature(method).parameters
    has_var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
    named = {n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    args = dict(args)
    kwargs: dict[str, Any] = {}

    if service == "embeddings":
        if "texts" in named and "text" in args:
            args["texts"] = [args.pop("text")]
        elif "text" in named and "texts" in args:
            args["text"] = args.pop("texts")[0]
    if service == "triples":
        # REST wants Uri/Literal objects (1.x insists on Uri for s and p);
        # the socket clients take plain strings and guess the term type.
        kinds = knowledge_types() if rest else None
        for key in ("s", "p", "o"):
            if args.get(key) is not None:
                value = args[key]
                if rest and isinstance(value, str) and key in ("s", "p"):
                    value = {"iri": value}
                args[key] = term_for(value, kinds)

    user = args.pop("user", "trustgraph")
    if "user" in named:
        kwargs["user"] = user
    if "collection" in named and "collection" not in args and params["collection"].default is inspect.Parameter.empty:
        kwargs["collection"] = "default"

    for key, value in args.items():
        target = next((n for n in ALIASES.get(key, (key,)) if n in named), None)
        if target is not None:
            kwargs[target] = value
        elif has_var_kw:
            kwargs[key] = value  # lands in the request body of 1.7+/2.x socket methods
        else:
            raise Unsupported(f"{method.__qualname__} has no parameter {key!r}")

    if streaming is not None:
        if "streaming" in named:
            kwargs["streaming"] = streaming
        elif streaming:
            raise Unsupported(f"{method.__qualname__} has no streaming parameter")

    missing = [
        n
        for n, p in params.items()
        if p.default is inspect.Parameter.empty
        and n not in kwargs
        and n != "self"
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if missing:
        raise Unsupported(f"{method.__qualname__} needs {missing}, not given in args")
    return kwargs


# --------------------------------------------------------------------------
# Calls


class CallState:
    """One call's outcome; the first of result / error / timeout wins."""

    def __init__(self, run_id: str, call: int | None) -> None:
        self.run_id, self.call = run_id, call
        self.chunks = 0
        self.text: list[str] = []
        self._lock = threading.Lock()
        self.finished = False
        self.timed_out = False
        self.loop: asyncio.AbstractEventLoop | None = None

    def chunk(self, item: Any) -> None:
        if self.finished:
            return
        self.chunks += 1
        self.text.append(chunk_text(item))
        emit("chunk", run_id=self.run_id, call=self.call, index=self.chunks - 1, data=chunk_data(item))

    def finish(self, event: str, **fields: Any) -> bool:
        with self._lock:
            if self.finished:
                return False
            self.finished = True
        emit(event, run_id=self.run_id, call=self.call, chunks=self.chunks, **fields)
        return True

    def result(self, value: Any, streamed: bool) -> None:
        if streamed:
            self.finish("result", data={"streamed": True, "text": "".join(self.text)})
        else:
            self.finish("result", data={"streamed": False, "value": jsonable(value)})

    def error(self, exc: BaseException, **extra: Any) -> None:
        fields = {
            **extra,
            "error_type": type(exc).__name__,
            "error_class": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "message": str(exc),
        }
        if getattr(exc, "error_type", None) is not None:
            fields["service_error_type"] = exc.error_type
        self.finish("error", **fields)


def is_stream(value: Any) -> bool:
    return inspect.isgenerator(value) or (
        isinstance(value, Iterator) and not isinstance(value, (str, bytes, dict, list))
    )


def resolve_target(api: Any, op: dict[str, Any], asynchronous: bool) -> tuple[Any, Any]:
    """(client, flow instance) that perform the service for this op."""
    transport = op.get("transport", "rest")
    flow = op.get("flow", "default")
    if op.get("service") == "metrics":
        attr = "async_metrics" if asynchronous else "metrics"
        if transport != "rest" or not hasattr(api, attr):
            raise Unsupported(f"no {attr} client (Api.{attr}) over {transport} in this version")
        client = getattr(api, attr)()
        return client, client
    if transport == "rest":
        if asynchronous:
            if not hasattr(api, "async_flow"):
                raise Unsupported("no async REST client (Api.async_flow) in this version")
            client = api.async_flow()
        else:
            client = api.flow()
        return client, client.id(flow)
    if transport == "socket":
        attr = "async_socket" if asynchronous else "socket"
        if not hasattr(api, attr):
            raise Unsupported(f"no {'async ' if asynchronous else ''}socket client (Api.{attr}) in this version")
        client = getattr(api, attr)()
        return client, client.flow(flow)
    raise Unsupported(f"unknown transport {transport!r} for op run")


def method_for(flow_instance: Any, op: dict[str, Any]) -> Callable[..., Any]:
    service = op["service"]
    name = "get" if service == "metrics" else FLOW_METHODS.get(service)
    if name is None:
        raise Unsupported(f"service {service!r} is not driven by this driver")
    method = getattr(flow_instance, name, None)
    if method is None:
        raise Unsupported(f"{type(flow_instance).__name__} has no {name}() in this version")
    return method


def report_value(state: CallState, value: Any) -> None:
    """A call's outcome: each item of a stream as a chunk, then the result; else the value itself."""
    if is_stream(value):
        for item in value:
            state.chunk(item)
        state.result(None, streamed=True)
    else:
        state.result(value, streamed=False)


def sync_call(state: CallState, method: Callable[..., Any], kwargs: dict[str, Any], barrier: threading.Barrier) -> None:
    # A loop of our own for this thread: the sync clients pick it up through
    # asyncio.get_event_loop(), which lets the timeout path stop it.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    state.loop = loop
    try:
        barrier.wait(timeout=30)
    except threading.BrokenBarrierError:
        pass
    try:
        emit("sent", run_id=state.run_id, call=state.call)
        report_value(state, method(**kwargs))
    except BaseException as exc:
        if not state.finished:
            log(f"call {state.call}: {traceback.format_exc()}")
        state.error(exc)
    finally:
        # After a normal end the client's own close() tidies up (a 2.x client
        # keeps its reader task on this loop); after a timeout we do.
        if state.timed_out:
            cancel_leftovers(loop)


def cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a stopped call left on its loop, so sockets close."""
    try:
        if loop.is_running() or loop.is_closed():
            return
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=2))
    except Exception:
        log(f"cleanup: {traceback.format_exc()}")


def run_sync(op: dict[str, Any], api: Any) -> list[CallState]:
    _, flow_instance = resolve_target(api, op, asynchronous=False)
    method = method_for(flow_instance, op)
    streaming = op.get("streaming") if op.get("transport") == "socket" else (op.get("streaming") or None)
    kwargs = build_call(method, op["service"], op.get("args", {}), streaming, op.get("transport") == "rest")
    n = int(op.get("concurrency", 1))
    states = [CallState(op["run_id"], i) for i in range(n)]
    barrier = threading.Barrier(n)
    threads = [
        threading.Thread(target=sync_call, args=(s, method, kwargs, barrier), daemon=True, name=f"call-{s.call}")
        for s in states
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + float(op.get("timeout_s", 30))
    for state, thread in zip(states, threads):
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            expire(state, op)
            thread.join(2)
    return states


def close_loops(states: list[CallState]) -> None:
    """Close the per-call loops once the client is closed (each holds fds)."""
    for state in states:
        loop = state.loop
        if loop is not None and not loop.is_running() and not loop.is_closed():
            loop.close()


def expire(state: CallState, op: dict[str, Any]) -> None:
    if state.finish(
        "error",
        error_type="DriverTimeout",
        error_class="driver.DriverTimeout",
        message=f"no result within {float(op.get('timeout_s', 30))} s",
    ):
        state.timed_out = True
        loop = state.loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)


async def async_call(state: CallState, method: Callable[..., Any], kwargs: dict[str, Any], timeout_s: float) -> None:
    async def consume() -> None:
        emit("sent", run_id=state.run_id, call=state.call)
        value = method(**kwargs)
        if inspect.isawaitable(value):
            value = await value
        if inspect.isasyncgen(value) or hasattr(value, "__anext__"):
            async for item in value:
                state.chunk(item)
            state.result(None, streamed=True)
        else:
            report_value(state, value)

    try:
        await asyncio.wait_for(consume(), timeout_s)
    except TimeoutError:
        state.finish(
            "error",
            error_type="DriverTimeout",
            error_class="driver.DriverTimeout",
            message=f"no result within {timeout_s} s",
        )
    except BaseException as exc:
        log(f"call {state.call}: {traceback.format_exc()}")
        state.error(exc)


async def run_async(op: dict[str, Any]) -> None:
    api = make_api(op)
    client, flow_instance = resolve_target(api, op, asynchronous=True)
    try:
        method = method_for(flow_instance, op)
        streaming = op.get("streaming") if op.get("transport") == "socket" else (op.get("streaming") or None)
        kwargs = build_call(method, op["service"], op.get("args", {}), streaming, op.get("transport") == "rest")
        if op.get("transport") == "socket" and op.get("connect", "eager") == "eager" and hasattr(client, "connect"):
            # The documented way to share one connection (async context
            # manager / connect()); "connect": "lazy" leaves it to the calls.
            try:
                await asyncio.wait_for(client.connect(), float(op.get("timeout_s", 30)))
            except Exception as exc:
                log(f"connect: {traceback.format_exc()}")
                CallState(op["run_id"], None).error(exc, phase="connect")
                return
            emit("connected", run_id=op["run_id"])
        states = [CallState(op["run_id"], i) for i in range(int(op.get("concurrency", 1)))]
        timeout_s = float(op.get("timeout_s", 30))
        await asyncio.gather(*(async_call(s, method, kwargs, timeout_s) for s in states))
    finally:
        try:
            await asyncio.wait_for(api.aclose(), 5) if hasattr(api, "aclose") else None
        except Exception:
            log(f"aclose: {traceback.format_exc()}")
        # Connections the client lost track of (e.g. the lazy-connect race
        # opens one per call) would hold asyncio.run() in their close
        # handshakes; end them so `done` follows promptly.
        await cancel_others(1.0)


async def cancel_others(grace_s: float) -> None:
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    if others:
        await asyncio.wait(others, timeout=grace_s)


def close_sync(api: Any) -> None:
    if not hasattr(api, "close"):
        return
    closer = threading.Thread(target=api.close, daemon=True)
    closer.start()
    closer.join(5)


# --------------------------------------------------------------------------
# Global services: the gateway's {operation, …} request mapped onto the client's REST APIs

GLOBAL_SERVICES = ("config", "flow", "librarian", "knowledge", "collection-management")


def with_user(method: Callable[..., Any], kwargs: dict[str, Any], user: str) -> dict[str, Any]:
    """1.x global APIs take `user` (2.4+ clients carry the workspace instead)."""
    if "user" in inspect.signature(method).parameters:
        return {**kwargs, "user": user}
    return kwargs


def global_call(api: Any, service: str, args: dict[str, Any]) -> Callable[[], Any]:
    """The client call that performs one global-service operation, or Unsupported."""
    operation = args.get("operation")
    user = args.get("user", "trustgraph")
    if service == "config":
        config = api.config()
        if operation == "put":
            values = [tg.ConfigValue(type=v["type"], key=v["key"], value=v["value"]) for v in args.get("values", [])]
            return lambda: config.put(values)
        if operation == "get":
            keys = [tg.ConfigKey(type=k["type"], key=k["key"]) for k in args.get("keys", [])]
            return lambda: config.get(keys)
    elif service == "flow":
        flows = api.flow()
        if operation == "start-flow":
            params = inspect.signature(flows.start).parameters
            noun = "blueprint_name" if "blueprint_name" in params else "class_name"
            name = args.get("blueprint-name", args.get("class-name"))
            start = {noun: name, "id": args["flow-id"], "description": args.get("description", "")}
            return lambda: flows.start(**start)
        if operation == "list-flows":
            return flows.list
    elif service == "librarian":
        library = api.library()
        if operation == "add-document":
            import base64

            meta = args.get("document-metadata", {})
            add = {
                "document": base64.b64decode(args.get("content", "")),
                "id": meta.get("id"),
                "metadata": [],
                "title": meta.get("title", ""),
                "comments": meta.get("comments", ""),
                "kind": meta.get("kind", "text/plain"),
            }
            add = with_user(library.add_document, add, user)
            return lambda: library.add_document(**add)
        if operation == "list-documents":
            listing = with_user(library.get_documents, {}, user)
            return lambda: library.get_documents(**listing)
    elif service == "knowledge":
        knowledge = api.knowledge()
        if operation == "list-kg-cores":
            listing = with_user(knowledge.list_kg_cores, {}, user)
            return lambda: knowledge.list_kg_cores(**listing)
        if operation == "delete-kg-core":
            delete = with_user(knowledge.delete_kg_core, {"id": args["id"]}, user)
            return lambda: knowledge.delete_kg_core(**delete)
    elif service == "collection-management":
        if not hasattr(api, "collection"):
            raise Unsupported("no collection-management client (Api.collection) in this version")
        collections = api.collection()
        if operation == "update-collection":
            update = {k: args[k] for k in ("collection", "name", "description", "tags") if k in args}
            update = with_user(collections.update_collection, update, user)
            return lambda: collections.update_collection(**update)
        if operation == "list-collections":
            listing = with_user(collections.list_collections, {}, user)
            return lambda: collections.list_collections(**listing)
    raise Unsupported(f"{service} operation {operation!r} is not mapped to this client's API")


def run_global(op: dict[str, Any]) -> None:
    if op.get("transport", "rest") != "rest":
        raise Unsupported("the client's global-service APIs (Api.config(), flow(), library(), …) are REST only")
    if op.get("mode", "sync") != "sync":
        raise Unsupported("the client has no async global-service APIs")
    if op.get("streaming"):
        raise Unsupported("global services do not stream")
    api = make_api(op)
    call = global_call(api, op["service"], op.get("args", {}))
    state = CallState(op["run_id"], 0)

    def work() -> Any:
        emit("sent", run_id=op["run_id"], call=0)
        return {"streamed": False, "value": jsonable(call())}

    run_sync_one(state, work, op)
    close_sync(api)


# --------------------------------------------------------------------------
# Bulk

BULK_IMPORT = {
    "triples": "import_triples",
    "graph-embeddings": "import_graph_embeddings",
    "document-embeddings": "import_document_embeddings",
    "entity-contexts": "import_entity_contexts",
    "rows": "import_rows",
    "objects": "import_objects",
}
BULK_EXPORT = {
    "triples": "export_triples",
    "graph-embeddings": "export_graph_embeddings",
    "document-embeddings": "export_document_embeddings",
    "entity-contexts": "export_entity_contexts",
}


def typed_terms() -> bool:
    """Does this client speak 2.x typed terms ({"t":"i",...}) on the bulk sockets?

    Only used to shape generated test items for kinds the client passes through
    untouched (graph-embeddings, entity-contexts, ...)."""
    try:
        from trustgraph.api import bulk_client
    except ImportError:
        return False
    return hasattr(bulk_client, "_value_to_term") or hasattr(bulk_client, "_string_to_term")


def wire_term(iri: str, typed: bool) -> dict[str, Any]:
    return {"t": "i", "i": iri} if typed else {"v": iri, "e": True}


def generate_items(kind: str, n: int, seed: int) -> list[dict[str, Any]]:
    """Deterministic items: kit terms for triples, client wire shapes otherwise."""
    rng = random.Random(seed)
    typed = typed_terms()
    if kind == "triples":
        return [
            {
                "s": {"iri": f"http://example.org/e{i}"},
                "p": {"iri": f"http://example.org/p{rng.randrange(5)}"},
                "o": {"literal": f"value {i} {rng.randrange(10**6)}"},
            }
            for i in range(n)
        ]

    def vector() -> list[float]:
        return [round(rng.random(), 4) for _ in range(4)]

    if kind == "graph-embeddings":
        return [
            {
                "entity": wire_term(f"http://example.org/e{i}", typed),
                **({"vector": vector()} if typed else {"vectors": [vector()]}),
            }
            for i in range(n)
        ]
    if kind == "entity-contexts":
        return [{"entity": wire_term(f"http://example.org/e{i}", typed), "context": f"context {i}"} for i in range(n)]
    if kind == "document-embeddings":
        return [
            {"chunk_id": f"urn:chunk:{i}", "vector": vector()}
            if typed
            else {"chunk": f"chunk {i}", "vectors": [vector()]}
            for i in range(n)
        ]
    return [{"schema_name": "item", "values": {"id": str(i), "n": str(rng.randrange(1000))}} for i in range(n)]


def import_items(kind: str, items: list[dict[str, Any]]) -> list[Any]:
    """Kit items -> what the client's import_<kind> iterates over."""
    if kind != "triples":
        return items
    kinds = api_types() or knowledge_types()
    fields = {f.name for f in dataclasses.fields(tg.Triple)}
    out = []
    for item in items:
        values = {k: term_for(item[k], kinds) for k in ("s", "p", "o")}
        if "g" in fields and item.get("g") is not None:
            values["g"] = item["g"]
        out.append(tg.Triple(**values))
    return out


def bulk_client(api: Any, asynchronous: bool) -> Any:
    attr = "async_bulk" if asynchronous else "bulk"
    if not hasattr(api, attr):
        raise Unsupported(f"no {attr} client (Api.{attr}) in this version")
    return getattr(api, attr)()


def bulk_options(method: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    named = inspect.signature(method).parameters
    unknown = [k for k in options if k not in named]
    if unknown:
        raise Unsupported(f"{method.__qualname__} has no parameter(s) {unknown}")
    return dict(options)


def run_bulk_import(op: dict[str, Any]) -> None:
    kind = op.get("kind", "triples")
    items = op.get("items")
    if items is None:
        spec = op.get("generate") or {}
        items = generate_items(kind, int(spec.get("n", 0)), int(spec.get("seed", 0)))
    asynchronous = op.get("mode") == "async"
    api = make_api(op)
    client = bulk_client(api, asynchronous)
    method = getattr(client, BULK_IMPORT.get(kind, ""), None)
    if method is None:
        raise Unsupported(f"{type(client).__name__} has no import for kind {kind!r}")
    options = bulk_options(method, op.get("options", {}))
    values = import_items(kind, items)
    state = CallState(op["run_id"], 0)
    start = time.monotonic()

    if asynchronous:

        async def feed() -> Any:
            for value in values:
                yield value

        async def go() -> None:
            emit("sent", run_id=op["run_id"], call=0)
            try:
                await asyncio.wait_for(
                    method(op.get("flow", "default"), feed(), **options), float(op.get("timeout_s", 30))
                )
                state.finish("result", data={"items": len(values), "duration_s": time.monotonic() - start})
            except TimeoutError:
                state.finish(
                    "error",
                    error_type="DriverTimeout",
                    error_class="driver.DriverTimeout",
                    message=f"import not finished within {op.get('timeout_s', 30)} s",
                )
            except Exception as exc:
                state.error(exc)

        asyncio.run(go())
        return

    def work() -> Any:
        emit("sent", run_id=op["run_id"], call=0)
        method(op.get("flow", "default"), iter(values), **options)
        return {"items": len(values), "duration_s": time.monotonic() - start}

    run_sync_one(state, work, op)
    close_sync(api)


def run_sync_one(state: CallState, work: Callable[[], Any], op: dict[str, Any]) -> None:
    """Run one sync job on a thread with its own event loop, under timeout_s."""

    def body() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        state.loop = loop
        try:
            state.finish("result", data=work())
        except BaseException as exc:
            if not state.finished:
                log(traceback.format_exc())
            state.error(exc)
        finally:
            cancel_leftovers(loop)
            loop.close()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(float(op.get("timeout_s", 30)))
    if thread.is_alive():
        expire(state, op)
        thread.join(2)


def run_bulk_export(op: dict[str, Any]) -> None:
    kind = op.get("kind", "triples")
    asynchronous = op.get("mode") == "async"
    api = make_api(op)
    client = bulk_client(api, asynchronous)
    method = getattr(client, BULK_EXPORT.get(kind, ""), None)
    if method is None:
        raise Unsupported(f"{type(client).__name__} has no export for kind {kind!r}")
    max_items = op.get("max_items")
    max_s = float(op.get("max_s", op.get("timeout_s", 10)))
    emit_items = op.get("emit_items", True)
    state = CallState(op["run_id"], 0)
    counts: dict[str, Any] = {"items": 0, "first_item_s": None, "stopped": None, "stopped_s": None}
    start = time.monotonic()

    def stop(reason: str) -> None:
        if counts["stopped"] is None:
            counts["stopped"], counts["stopped_s"] = reason, time.monotonic() - start

    def take(item: Any) -> bool:
        if counts["first_item_s"] is None:
            counts["first_item_s"] = time.monotonic() - start
        counts["items"] += 1
        if emit_items:
            state.chunk(item)
        else:
            state.chunks += 1
        if max_items is not None and counts["items"] >= max_items:
            stop("count")
            return False
        return True

    def summary() -> dict[str, Any]:
        stop("closed")  # the iterator ended by itself: the server closed the socket
        return {**counts, "duration_s": time.monotonic() - start}

    if asynchronous:

        async def consume() -> None:
            emit("sent", run_id=op["run_id"], call=0)
            gen = method(op.get("flow", "default"))
            try:
                async for item in gen:
                    if not take(item):
                        break
            finally:
                await gen.aclose()

        async def go() -> None:
            task = asyncio.ensure_future(consume())
            done, _ = await asyncio.wait([task], timeout=max_s)
            if not done:
                stop("time")
                task.cancel()
                await asyncio.wait([task], timeout=5)
            try:
                if done:
                    task.result()
            except asyncio.CancelledError:
                pass
            except Exception as exc:
                state.error(exc)
                return
            state.finish("result", data=summary())

        asyncio.run(go())
        return

    # Sync: iterate on a thread with its own loop; at max_s stop that loop,
    # which makes the client's generator end and its socket close.
    def body() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        state.loop = loop
        emit("sent", run_id=op["run_id"], call=0)
        try:
            gen = method(op.get("flow", "default"))
            for item in gen:
                if not take(item):
                    break
            gen.close()
        except RuntimeError as exc:
            if counts["stopped"] != "time":  # else: our loop.stop() interrupted it
                state.error(exc)
        except BaseException as exc:
            state.error(exc)
        finally:
            cancel_leftovers(loop)
            loop.close()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(max_s)
    if thread.is_alive() and counts["stopped"] is None:
        stop("time")
        loop = state.loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    state.finish("result", data=summary())


# --------------------------------------------------------------------------
# Protocol loop


def handle(op: dict[str, Any]) -> bool:
    """Perform one op; False means quit."""
    kind = op.get("op")
    run_id = op.get("run_id")
    if kind == "hello":
        emit(
            "hello",
            client="trustgraph-base",
            version=client_version(),
            language="python",
            protocol=PROTOCOL_VERSION,
            supports=supports(),
            runtime=f"python {sys.version.split()[0]}",
        )
        return True
    if kind == "quit":
        return False
    try:
        if kind == "run":
            if op.get("transport", "rest") not in ("rest", "socket"):
                raise Unsupported(f"transport {op.get('transport')!r} is not valid for op run")
            if op.get("service") in GLOBAL_SERVICES:
                run_global(op)
            elif op.get("mode", "sync") == "async":
                asyncio.run(run_async(op))
            else:
                api = make_api(op)
                states: list[CallState] = []
                try:
                    states = run_sync(op, api)
                finally:
                    close_sync(api)
                    close_loops(states)
        elif kind == "metrics":
            # Shorthand for {"op":"run","transport":"rest","service":"metrics"}.
            handle({**op, "op": "run", "transport": "rest", "service": "metrics", "args": {}})
            return True
        elif kind == "bulk-import":
            run_bulk_import(op)
        elif kind == "bulk-export":
            run_bulk_export(op)
        else:
            raise Unsupported(f"unknown op {kind!r}")
    except Unsupported as exc:
        emit("unsupported", run_id=run_id, reason=str(exc))
        return True
    except Exception as exc:
        log(traceback.format_exc())
        emit(
            "error",
            run_id=run_id,
            call=None,
            error_type=type(exc).__name__,
            error_class="driver." + type(exc).__qualname__,
            message=f"driver failure: {exc}",
        )
    emit("done", run_id=run_id)
    return True


def main() -> int:
    log(f"trustgraph-base {client_version()} driver ready")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            op = json.loads(line)
            if not isinstance(op, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            emit("unsupported", run_id=None, reason=f"invalid op line: {exc}")
            continue
        if not handle(op):
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
