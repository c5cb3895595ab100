"""The scripted backend: answers the gateway on the bus by playing the contracts the mock serves.

It owns every topic the gateway talks to: its own config fetches (the flows, with an interface for every
flow service kind the release dispatches), IAM, the global services and each flow service. A flow-service
request is matched with mockgw's own matching against the same contracts, and its frames are published
at their recorded offsets, each against an absolute `loop.time()` deadline from the request's arrival.
A stall fault is silence (the gateway's --timeout answers); faults and frames a backend cannot cause
(a socket close, an envelope-level error, a raw text frame) are skipped and logged, and the diff marks
those sessions as not comparable.

With `--journal FILE` it also appends one JSON line per request it got, frame it published (scripted and
sent, wall-clock), stall and unmatched request: what `certify --rig` judges from (conformance/rigwire.py).

    python -m conformance.reference.backend --amqp URL --gateway-version V [--contracts DIR] [--token T]
                                            [--journal FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from mockgw.contract import Contract, Seeds, load_library
from mockgw.contract.model import FaultKind, FrameKind
from mockgw.matching import IncomingRequest, Match, match_request
from mockgw.profiles import PROFILES, resolve_profile
from mockgw.protocol.bulk import decode_import_frame
from mockgw.state.stateful import StatefulServices, overrides_state
from mockgw.templating import render

from . import iam, shapes
from .bus import Bus
from .versions import GatewayVersion, resolve

log = logging.getLogger("mockgw.rig.backend")

REPO = Path(__file__).resolve().parents[2]
GLOBAL_KINDS = ("config", "flow", "librarian", "knowledge", "collection-management")
# The global kinds' topic names in trustgraph.schema (collection-management's queue is `collection`).
GLOBAL_TOPICS = {
    "config": "config",
    "flow": "flow",
    "librarian": "librarian",
    "knowledge": "knowledge",
    "collection-management": "collection",
}
SENDER_KINDS = ("text-load", "document-load")
BULK_INTERFACES = (
    "triples-store",
    "graph-embeddings-store",
    "document-embeddings-store",
    "entity-contexts-load",
    "rows-store",
)


def flow_topic(cls: str, kind: str, flow: str) -> str:
    return f"{cls}:tg:rig-{flow}--{kind}"


def flow_definition(gv: GatewayVersion, flow: str, kinds: list[str]) -> dict[str, Any]:
    """A flow as the config service stores it: interfaces name the topics of each kind."""
    interfaces: dict[str, Any] = {}
    for kind in kinds:
        interfaces[kind] = {
            "request": flow_topic("request", kind, flow),
            "response": flow_topic("response", kind, flow),
        }
    for kind in (*SENDER_KINDS, *BULK_INTERFACES):
        topic = flow_topic("flow", kind, flow)
        # 2.3.x reads the sender/bulk interface as the topic itself; later releases as {"flow": topic}.
        interfaces[kind] = {"flow": topic} if gv.nested_flow_interfaces else topic
    return {
        "description": f"rig flow {flow}",
        "blueprint-name": "default",
        "class-name": "default",
        "interfaces": interfaces,
        "parameters": {},
    }


class Backend:
    def __init__(
        self,
        gv: GatewayVersion,
        contracts: list[Contract],
        flows: list[str],
        token: str | None,
        speed: float = 1.0,
        profile: str | None = None,
        journal: Path | None = None,
        seeds: Seeds | None = None,
    ) -> None:
        # Line-buffered appends of a few hundred bytes to a local file: cheap enough for the loop.
        self.journal = journal.open("a", buffering=1) if journal else None
        self.gv, self.contracts, self.flows, self.token, self.speed = gv, contracts, flows, token, speed
        self.profile = profile or gv.profile
        self.flow_kinds = sorted(gv.flow_kinds)
        self.bus: Bus | None = None
        self.tasks: set[asyncio.Task] = set()
        self.scenarios: dict[str, str] = {}
        # The global services answer from the mock's own state model, seeded from the same contract files,
        # so that the diff measures what the gateway does to their answers (docs/FIDELITY.md).
        self.stateful = StatefulServices(resolve_profile(self.profile), flows, seeds or Seeds())

    # -- wiring ------------------------------------------------------------------------------------------
    async def start(self, url: str) -> None:
        self.bus = Bus(url, self.gv.topology)
        await self.bus.connect()
        await self.bus.consume("request:tg:config", self.on_gateway_config)
        if self.gv.uses_iam:
            await self.bus.consume("request:tg:iam", self.on_iam)
        for kind in GLOBAL_KINDS:
            await self.bus.consume(self.global_topic("request", kind), self.on_global)
        for flow in self.flows:
            for kind in self.flow_kinds:
                await self.bus.consume(flow_topic("request", kind, flow), self.on_flow_service)
            for interface in BULK_INTERFACES:
                await self.bus.consume(flow_topic("flow", interface, flow), self.on_bulk)

    def global_topic(self, cls: str, kind: str) -> str:
        name = GLOBAL_TOPICS[kind]
        return f"{cls}:tg:{name}:default" if self.gv.uses_iam else f"{cls}:tg:{name}"

    def config_answer(self, request: dict[str, Any]) -> dict[str, Any]:
        flows = {f: json.dumps(flow_definition(self.gv, f, self.flow_kinds)) for f in self.flows}
        op = request.get("operation")
        if op == "getvalues" and request.get("type") == "workspace":
            return {"version": 1, "values": [{"type": "workspace", "key": "default", "value": "{}"}]}
        if op == "getvalues-all-ws":
            return {
                "version": 1,
                "values": [{"type": "flow", "key": k, "value": v, "workspace": "default"} for k, v in flows.items()],
            }
        return {"version": 1, "config": {"flow": flows}}

    async def reply(self, topic: str, headers: dict[str, Any], body: dict[str, Any]) -> None:
        await self.bus.publish(topic.replace("request:", "response:", 1), body, {"id": headers.get("id")})

    async def on_gateway_config(self, topic: str, body: dict[str, Any], headers: dict[str, Any]) -> None:
        # 2.3.x sends clients' config requests here too. The gateway's own fetch is operation `config`; any other
        # operation is a client's and answers from state. A client's `config` gets the flow config (lossy, RIG.md).
        if not self.gv.uses_iam and body.get("operation") != "config":
            await self.answer_global(topic, "config", body, headers)
            return
        await self.reply(topic, headers, self.config_answer(body))

    async def on_iam(self, topic: str, body: dict[str, Any], headers: dict[str, Any]) -> None:
        await self.reply(topic, headers, iam.answer(body, self.token, self.gv.iam_workspace_key))

    async def on_global(self, topic: str, body: dict[str, Any], headers: dict[str, Any]) -> None:
        kind = next(k for k in GLOBAL_KINDS if self.global_topic("request", k) == topic)
        contract, _ = self.choose(kind, None, body)
        if contract is not None and overrides_state(contract):  # as the mock: the user's own contract first
            self.spawn(self.play(topic, kind, None, body, headers))
            return
        self.spawn(self.answer_global(topic, kind, body, headers))

    async def answer_global(self, topic: str, kind: str, body: dict[str, Any], headers: dict[str, Any]) -> None:
        request = shapes.global_request_to_client(kind, body)
        replay = self.stateful.answer(kind, None, request, None, translate=False)
        frames = [step.payload for step in replay.steps] if replay is not None else []
        self.note(
            "request",
            id=headers.get("id"),
            service=kind,
            flow=None,
            arrived=time.time(),
            contract_id=f"mockgw:state/{kind}",
            body=request,
        )
        last = len(frames) - 1
        for index, frame in enumerate(frames):
            now = time.time()
            self.note("frame", id=headers.get("id"), scheduled=now, sent=now, content=frame, complete=index == last)
            message = shapes.global_response_to_backend(kind, frame)
            if kind == "librarian":
                message["is_final"] = index == last  # stream-document's chunks; the schema defaults it to True
            await self.reply(topic, headers, message)

    async def on_flow_service(self, topic: str, body: dict[str, Any], headers: dict[str, Any]) -> None:
        name = topic.split(":", 2)[2].removeprefix("rig-")
        flow, kind = name.split("--", 1)
        self.spawn(self.play(topic, kind, flow, body, headers))

    async def on_bulk(self, topic: str, body: dict[str, Any], headers: dict[str, Any]) -> None:
        """What an import socket published: stored in the mock's own store model, where queries and the diff see it."""
        flow, interface = topic.split(":", 2)[2].removeprefix("rig-").split("--", 1)
        kind = shapes.BULK_KINDS[interface]
        text = json.dumps(shapes.bulk_to_client(kind, body))
        frame = decode_import_frame(text, kind, self.stateful.profile)
        stored = self.stateful.data.add_frame(flow, frame, text)
        self.note(
            "stored",
            service=f"import/{kind}",
            flow=flow,
            at=time.time(),
            items=stored,
            message=body,
            bad=str(frame.bad) if frame.bad else None,
        )

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def note(self, event: str, **fields: Any) -> None:
        if self.journal is not None:
            self.journal.write(json.dumps({"event": event, **fields}, default=str) + "\n")

    # -- playing -----------------------------------------------------------------------------------------
    def choose(self, kind: str, flow: str | None, body: dict[str, Any]) -> tuple[Contract | None, str]:
        client_body = shapes.request_to_client(kind, body)
        last = ""
        # The bus does not say whether the client came by REST or socket: socket contracts first (lossy).
        for transport in ("socket", "rest"):
            result = match_request(
                self.contracts, IncomingRequest(transport, kind, client_body, flow), self.profile, self.scenarios
            )
            if result.outcome is Match.FULL:
                return result.contract, ""
            last = result.explain()
        return None, last

    async def play(
        self, topic: str, kind: str, flow: str | None, body: dict[str, Any], headers: dict[str, Any]
    ) -> None:
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        arrived_wall = time.time()  # the kit compares these with the driver's wall-clock events
        bus_id = headers.get("id")
        contract, why = self.choose(kind, flow, body)
        if flow is not None and (contract is None or not overrides_state(contract)):
            # As the mock: a query of a kind the flow's store holds answers from the store (stateful.py).
            stored = self.stateful.answer(kind, flow, shapes.request_to_client(kind, body), None)
            if stored is not None:
                self.note(
                    "request",
                    id=bus_id,
                    service=kind,
                    flow=flow,
                    arrived=arrived_wall,
                    contract_id=stored.contract_id,
                    body=shapes.request_to_client(kind, body),
                )
                for step in stored.steps:
                    now = time.time()
                    self.note("frame", id=bus_id, scheduled=now, sent=now, content=step.payload, complete=step.complete)
                    await self.reply(topic, headers, shapes.response_to_backend(kind, step.payload, step.complete))
                return
        if contract is None:
            log.warning("unmatched %s request: %s", kind, why)
            self.note("unmatched", id=bus_id, service=kind, flow=flow, at=arrived_wall, message=why)
            await self.reply(
                topic, headers, shapes.error_to_backend(kind, {"type": "mockgw-unmatched", "message": why})
            )
            return
        if contract.scenario is not None and contract.scenario.set_state:
            self.scenarios[contract.scenario.name] = contract.scenario.set_state
        context = {
            "request": shapes.request_to_client(kind, body),
            "id": None,
            "service": kind,
            "flow": flow,
            "workspace": body.get("workspace") or "default",
            "profile": self.profile,
        }
        speed = self.speed * contract.speed
        fault = contract.fault
        shift = 0.0
        log.info("%s %s/%s: playing %s", bus_id, flow, kind, contract.id)
        self.note(
            "request",
            id=bus_id,
            service=kind,
            flow=flow,
            arrived=arrived_wall,
            contract_id=contract.id,
            body=context["request"],
        )
        silent_from = arrived_wall
        for index, frame in enumerate(contract.frames):
            if fault is not None and fault.after_frame == index:
                if fault.kind is FaultKind.STALL and fault.for_s is None:
                    self.note("stall", id=bus_id, silent_from=silent_from)
                    return  # silence: the gateway's own timeout answers
                if fault.kind is FaultKind.STALL:
                    shift += fault.for_s
                else:
                    log.warning("%s: fault %s cannot be played by a backend; skipped", contract.id, fault.kind.value)
            # Absolute deadline from the arrival: a late frame does not push the later ones.
            offset = (frame.at_s + shift) / speed
            await _sleep_until(loop, arrived + offset)
            if frame.kind is not FrameKind.RESPONSE:
                log.warning(
                    "%s: frame %d is %s, which a backend cannot send; skipped", contract.id, index, frame.kind.value
                )
                self.note("skipped", id=bus_id, index=index, frame_kind=frame.kind.value)
                continue
            content = render(frame.body, context) if frame.templated else frame.body
            # Logged as it is handed to the bus, before the publish is awaited (the broker's confirm can come
            # after the client already has the frame, and after the kit has read the log).
            silent_from = time.time()
            self.note(
                "frame",
                id=bus_id,
                scheduled=arrived_wall + offset,
                sent=silent_from,
                content=content,
                complete=frame.complete,
            )
            await self.reply(topic, headers, shapes.response_to_backend(kind, content, frame.complete))
        if fault is not None and fault.after_frame == len(contract.frames) and fault.kind is FaultKind.STALL:
            self.note("stall", id=bus_id, silent_from=silent_from)
            return


async def _sleep_until(loop: asyncio.AbstractEventLoop, when: float) -> None:
    delay = when - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m conformance.reference.backend")
    p.add_argument("--amqp", required=True)
    p.add_argument("--gateway-version", required=True)
    p.add_argument("--contracts", default=str(REPO / "contracts"))
    p.add_argument("--profile", default=None)
    p.add_argument("--flow", action="append", default=None)
    p.add_argument("--token", default=None)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--journal", type=Path, default=None, help="append what was played here, one JSON line each")
    return p.parse_args(argv)


async def amain(args: argparse.Namespace) -> None:
    gv = resolve(args.gateway_version)
    profile = args.profile or gv.profile
    if profile not in PROFILES:
        raise SystemExit(f"--profile={profile!r}: one of {', '.join(PROFILES)}")
    library = load_library(args.contracts)
    backend = Backend(
        gv, library.contracts, args.flow or ["default"], args.token, args.speed, profile, args.journal, library.seeds
    )
    await backend.start(args.amqp)
    print("mockgw rig backend ready", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(amain(parse_args(sys.argv[1:] if argv is None else argv)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
