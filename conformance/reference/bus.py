"""The gateway's bus as trustgraph-base lays it out on RabbitMQ, over aio-pika.

A topic is `class:topicspace:topic`. Two layouts, read from the releases' own backends:
  fanout (async_rabbitmq_backend.py, 2.8+): exchange `topicspace.class.topic` (fanout, durable);
         request/flow consumers share the named queue `<exchange>.<subscription>`.
  topic  (rabbitmq_backend.py, 2.3.x): one topic exchange per topicspace, routing key `class.topic`;
         shared queues are `<topicspace>.<class>.<topic>.<subscription>`.
Either way the body is the JSON of the schema dataclass and the AMQP header `id` pairs a response with
its request; response and notify consumers get an exclusive auto-delete queue each.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika

Handler = Callable[[str, dict[str, Any], dict[str, Any]], Awaitable[None]]  # topic, body, headers


def parse_topic(topic: str) -> tuple[str, str, str]:
    cls, space, name = topic.split(":", 2)
    return cls, space, name


class Bus:
    def __init__(self, url: str, layout: str, subscription: str = "mockgw-backend") -> None:
        if layout not in ("fanout", "topic"):
            raise ValueError(f"layout={layout!r}: one of fanout, topic")
        self.url, self.layout, self.subscription = url, layout, subscription
        self._conn: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}

    async def connect(self) -> None:
        self._conn = await aio_pika.connect_robust(self.url)
        self._channel = await self._conn.channel()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    def _names(self, topic: str) -> tuple[str, str, str]:
        """(exchange, exchange type, routing key) of a topic."""
        cls, space, name = parse_topic(topic)
        if self.layout == "fanout":
            return f"{space}.{cls}.{name}", "fanout", ""
        return space, "topic", f"{cls}.{name}"

    async def _exchange(self, topic: str) -> tuple[aio_pika.abc.AbstractExchange, str]:
        exchange, kind, key = self._names(topic)
        if exchange not in self._exchanges:
            self._exchanges[exchange] = await self._channel.declare_exchange(
                exchange, aio_pika.ExchangeType(kind), durable=True
            )
        return self._exchanges[exchange], key

    async def consume(self, topic: str, handler: Handler) -> None:
        """Take the requests of `topic` from its shared queue, as a competing consumer."""
        exchange, key = await self._exchange(topic)
        cls, space, name = parse_topic(topic)
        base = f"{space}.{cls}.{name}"
        queue = await self._channel.declare_queue(
            f"{base}.{self.subscription}", durable=cls == "flow", exclusive=False, auto_delete=False
        )
        await queue.bind(exchange, routing_key=key)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                body = json.loads(message.body.decode("utf-8"))
                await handler(topic, body, dict(message.headers or {}))

        await queue.consume(on_message)

    async def publish(self, topic: str, body: dict[str, Any], headers: dict[str, Any]) -> None:
        exchange, key = await self._exchange(topic)
        await exchange.publish(
            aio_pika.Message(json.dumps(body).encode("utf-8"), headers=headers, content_type="application/json"),
            routing_key=key,
        )
