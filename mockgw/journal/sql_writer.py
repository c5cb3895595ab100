"""The SQL journal's writes off the hot path: a queue, and a task that commits it every FLUSH_INTERVAL_S.

Every write (a new trace, a message, a goal change, an event) is queued in memory and returns at once;
the writer task turns the queue into one `Batch` (the store's `to_batch`) and commits it in one
transaction. A read first commits what is queued (`flush`), so it sees every write made before it. An
event queued with a future learns its id when its batch commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .sql_driver import Batch, Database

FLUSH_INTERVAL_S = 0.05


class BatchWriter:
    def __init__(
        self, database: Database, to_batch: Callable[[list[tuple[Any, ...]]], Batch], more_due: Callable[[], bool]
    ) -> None:
        """`to_batch` makes the queued writes one batch (and adds what the store keeps dirty); `more_due` says
        whether there is such work with nothing queued."""
        self.database = database
        self.pending: list[tuple[Any, ...]] = []  # the queued writes, appended to directly on the hot path
        self.event_futures: list[asyncio.Future[int] | None] = []  # per queued event, in order
        self._to_batch = to_batch
        self._more_due = more_due
        self._flush_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.flushed = asyncio.Event()  # set (and replaced) after each commit
        self.opened = False
        self._closed = False

    async def open(self) -> None:
        async with self._open_lock:  # the writer and a read may both be first: connect once
            if not self.opened:
                await self.database.open()
                self.opened = True

    def queue(self, op: tuple[Any, ...], future: asyncio.Future[int] | None = None, event: bool = False) -> None:
        self.pending.append(op)
        if event:
            self.event_futures.append(future)
        if self._task is None:
            self.start()

    def start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: the first read or close commits the queue
        self._task = loop.create_task(self._write_forever(), name="mockgw-journal-writer")

    @property
    def started(self) -> bool:
        return self._task is not None

    async def _write_forever(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while not self._closed:
            deadline = max(deadline + FLUSH_INTERVAL_S, loop.time())  # absolute: a slow flush is not added on
            await asyncio.sleep(deadline - loop.time())
            if self.pending or self._more_due():
                try:
                    await self.flush()
                except Exception as exc:  # a failed batch must not stop the journal; say so where it shows
                    print(f"mockgw: journal {self.database.url}: write failed: {exc!r}", flush=True)

    async def flush(self) -> None:
        """Commit everything queued so far (the writer does this every FLUSH_INTERVAL_S)."""
        if not self.opened:
            await self.open()
        async with self._flush_lock:
            pending, self.pending = self.pending, []
            futures, self.event_futures = self.event_futures, []
            batch = self._to_batch(pending)
            if batch.is_empty():
                return
            try:
                ids = await self.database.write(batch)
            except BaseException as exc:
                for future in futures:
                    if future is not None and not future.done():
                        future.set_exception(exc)
                raise
            for future, event_id in zip(futures, ids):
                if future is not None and not future.done():
                    future.set_result(event_id)
            self.flushed.set()
            self.flushed = asyncio.Event()

    async def close(self) -> None:
        """Stop the task, commit what is queued, close the database."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            async with self._flush_lock:  # never cancel the writer inside a transaction: it may be mid-batch
                self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.opened:
            try:
                await self.flush()
            finally:
                await self.database.close()
