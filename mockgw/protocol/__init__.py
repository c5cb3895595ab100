"""Sans-I/O protocol logic: data in, data out; no asyncio, sockets or clocks."""
