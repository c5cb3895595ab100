"""The reference rig: the real TrustGraph api-gateway on a private RabbitMQ, with a scripted backend.

Modules, one idea each:
  versions.py   the gateway releases the rig runs, and what differs between them on the bus
  venv.py       one virtualenv per gateway release (trustgraph-flow + trustgraph-base, --no-deps)
  ports.py      free loopback ports
  rabbit.py     a private RabbitMQ node, every listener on 127.0.0.1
  gateway.py    the api-gateway process, bound to 127.0.0.1 by a wrapper (gateway_main.py)
  bus.py        the two RabbitMQ topologies trustgraph-base uses, over aio-pika
  shapes.py     client-visible frames (what contracts hold) -> backend messages (what translators read)
  backend.py    the scripted backend: config, IAM, global and flow services played from contracts
  rig.py        all of it together, started and stopped by pid
  __main__.py   `python -m conformance.reference up --gateway-version V`
"""
