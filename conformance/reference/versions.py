"""The gateway releases the rig can run, and the bus facts that differ between them.

Each fact was read from that release's installed trustgraph-base/-flow (gateway/service.py,
base/pubsub.py, base/*rabbitmq_backend.py); a release not listed here is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from mockgw.errors import SettingsError


@dataclass(frozen=True, slots=True)
class GatewayVersion:
    version: str
    profile: str  # the mockgw profile that claims to cover this release
    topology: str  # "topic": one topic exchange per topicspace (sync pika backend, 2.3.x);
    # "fanout": one fanout exchange per topic (asyncio aio-pika backend)
    uses_iam: bool  # IamAuth on request:tg:iam (2.4.5+); else one shared secret (--api-token)
    logging_flags: tuple[str, ...]  # what keeps its logs local
    packages: tuple[str, ...]  # what the gateway, its bus backend and its imports need
    nested_flow_interfaces: bool  # sender/bulk interfaces are {"flow": topic} (later) or the topic (2.3.x)
    flow_kinds: frozenset[str]  # request/response kinds of dispatch/manager.py
    probe_kind: str  # a flow-service kind no flow offers, that the release checks against the flow
    # The IAM response field naming the caller's workspace (schema/services/iam.py IamResponse):
    # `resolved_workspace` until 2.6.1, `resolved_default_workspace` from 2.6.2.
    iam_workspace_key: str = "resolved_default_workspace"


_KINDS_2_3 = frozenset(
    {
        "agent",
        "text-completion",
        "prompt",
        "mcp-tool",
        "graph-rag",
        "document-rag",
        "embeddings",
        "graph-embeddings",
        "document-embeddings",
        "triples",
        "rows",
        "nlp-query",
        "structured-query",
        "structured-diag",
        "row-embeddings",
        "sparql",
    }
)
_COMMON = ("aiohttp>=3.9,<4", "prometheus-client>=0.17,<1", "pyyaml>=6,<7", "requests>=2.28,<3")
# The RabbitMQ (aio-pika) and IAM releases. msgpack: imported by gateway/dispatch/core_export.py though not declared.
_PACKAGES_IAM = _COMMON + ("aio-pika>=9,<10", "cryptography>=41", "websockets>=13,<18", "msgpack>=1,<2")
# 2.4.5-2.8.0: IAM, but the bus is still trustgraph-base's sync pika backend (base/pubsub.py get_pubsub).
_PACKAGES_IAM_PIKA = _COMMON + ("pika>=1.3,<2", "cryptography>=41", "websockets>=13,<18", "msgpack>=1,<2")

VERSIONS: dict[str, GatewayVersion] = {
    v.version: v
    for v in (
        GatewayVersion(
            version="2.11.1",
            profile="2.11.0",
            topology="fanout",
            uses_iam=True,
            logging_flags=("--no-loki-enabled",),
            packages=_PACKAGES_IAM,
            nested_flow_interfaces=True,
            probe_kind="thru/rig-probe",
            flow_kinds=_KINDS_2_3 | {"reranker", "image-to-text", "cloze", "decision-scoring", "field-extraction"},
        ),
        GatewayVersion(
            version="2.10.6",
            profile="2.10.6",
            topology="fanout",
            uses_iam=True,
            logging_flags=("--no-loki-enabled",),
            packages=_PACKAGES_IAM,
            nested_flow_interfaces=True,
            probe_kind="thru/rig-probe",  # the registry lets any thru/ kind through to the flow's check
            flow_kinds=_KINDS_2_3 | {"reranker", "image-to-text"},
        ),
        GatewayVersion(
            version="2.8.1",
            profile="2.8.1",
            topology="fanout",  # get_async_pubsub from 2.8.x, as 2.11.1
            uses_iam=True,
            logging_flags=("--no-loki-enabled",),
            packages=_PACKAGES_IAM,
            nested_flow_interfaces=True,
            probe_kind="embeddings",  # 2.8.x's registry refuses unknown kinds: a real one (rig._await_flows)
            flow_kinds=_KINDS_2_3 | {"reranker", "image-to-text"},
        ),
        # 2.4.5-2.8.0 (profiles 2.4.5, 2.4.26, 2.6.2): gateway/service.py calls get_pubsub, the sync pika
        # base/rabbitmq_backend.py (unchanged 2.4.5-2.8.x), whose layout is already the fanout one of the
        # asyncio backend: exchange `topicspace.class.topic`, shared queue `<exchange>.<subscription>`, JSON
        # body, AMQP header `id`. gateway/auth.py IamAuth asks request:tg:iam; config/receiver.py fetches
        # `getvalues` workspace + `getvalues-all-ws` flow, then `config` per workspace, as 2.8.1.
        # dispatch/manager.py: the 2.3.x kinds; registry.py refuses unknown kinds (probe: a real one).
        # 2.6.2: the first release of its profile (auth.py: auth-ok `default_workspace`, registry errors).
        GatewayVersion(
            version="2.6.2",
            profile="2.6.2",
            topology="fanout",
            uses_iam=True,
            logging_flags=("--no-loki-enabled",),
            packages=_PACKAGES_IAM_PIKA,
            nested_flow_interfaces=True,
            probe_kind="embeddings",
            flow_kinds=_KINDS_2_3,
        ),
        # 2.5.16: the newest 2.4.x/2.5.x; its gateway differs from 2.6.1 (the profile's last) only in
        # dispatch/mux.py, and from 2.6.2 by exactly what tells the two profiles apart. Profile 2.4.5 claimed it
        # until the rig showed it takes an empty first-frame token as anonymous (from 2.4.26: profile 2.4.26).
        GatewayVersion(
            version="2.5.16",
            profile="2.4.26",
            topology="fanout",
            uses_iam=True,
            logging_flags=("--no-loki-enabled",),
            packages=_PACKAGES_IAM_PIKA,
            nested_flow_interfaces=True,
            probe_kind="embeddings",
            flow_kinds=_KINDS_2_3,
            iam_workspace_key="resolved_workspace",  # and auth-ok says `workspace` (dispatch/mux.py)
        ),
        GatewayVersion(
            version="2.3.1",
            profile="2.3.1",
            topology="topic",
            uses_iam=False,
            logging_flags=("--log-level", "INFO"),  # 2.3.1 logs to the console only
            packages=_COMMON + ("pika>=1.3,<2", "websockets>=13,<18", "msgpack>=1,<2"),
            nested_flow_interfaces=False,
            probe_kind="rig-probe",
            flow_kinds=_KINDS_2_3,
        ),
    )
}


def resolve(version: str) -> GatewayVersion:
    if version not in VERSIONS:
        raise SettingsError("gateway-version", version, f"one of {', '.join(sorted(VERSIONS))}")
    return VERSIONS[version]
