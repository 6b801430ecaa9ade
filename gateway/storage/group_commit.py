"""Group commit: one writer thread applies many callers' writes under one durable COMMIT.

Callers (coroutines on any event loop) submit a `WriteJob`: a function of the writer's
connection. The thread takes every job waiting (up to `max_batch`), runs each inside its
own SAVEPOINT (none when it is alone) within one `BEGIN IMMEDIATE … COMMIT`, and only
after the COMMIT returned (the WAL fsync, `synchronous=FULL`) settles every caller's
future, with one wake-up of each caller's event loop. So:

- a job that raises a `StorageError` (or an `sqlite3.IntegrityError`) rolls back only
  its own savepoint; the others of the batch still commit;
- any other `sqlite3.Error` (I/O, disk full, read-only, lock timeout), or a failed COMMIT,
  rolls back the whole batch and fails every job of it with `StorageUnavailable`:
  nothing is half-recorded and nothing unrecorded is acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from gateway.storage.base import StorageError, StorageUnavailable

__all__ = ["GroupCommitter", "WriteJob"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(slots=True)
class WriteJob(Generic[T]):
    """One caller's write: ``work`` runs on the writer thread inside a savepoint."""

    work: Callable[[sqlite3.Connection], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    result: Any = None
    error: BaseException | None = field(default=None)


_STOP = object()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled; its write's fate is still what it was
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _settle_all(jobs: list[WriteJob[Any]]) -> None:
    for job in jobs:
        _settle(job.future, job.result, job.error)


class GroupCommitter:
    """The single writer of one SQLite database."""

    def __init__(self, conn: sqlite3.Connection, *, max_batch: int = 256, name: str = "") -> None:
        self._conn = conn
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[WriteJob[Any] | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(
            target=self._serve, name=f"storage-writer{name and ':' + name}", daemon=True
        )
        # Counters for tests, metrics and the benchmark (written by the writer thread only).
        self.batches = 0
        self.jobs = 0
        self.largest_batch = 0

    def start(self) -> None:
        self._thread.start()

    def queued(self) -> int:
        """Jobs waiting for the writer (approximate while it runs)."""
        return self._queue.qsize()

    async def submit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in the next batch; return its result once the batch is durable."""
        loop = asyncio.get_running_loop()
        job: WriteJob[T] = WriteJob(work=work, loop=loop, future=loop.create_future())
        with self._lock:  # no job may slip in behind the stop marker
            if self._closed:
                raise StorageUnavailable("storage: the database is closed; nothing was written")
            self._queue.put(job)
        return await job.future

    async def stop(self) -> None:
        """Commit or fail everything queued so far, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)

    # ---- the writer thread ------------------------------------------------------------

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[WriteJob[Any]] = [first]  # type: ignore[list-item]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            try:
                self._run_batch(batch)
            except BaseException as exc:  # a bug here must not leave callers waiting forever
                log.exception("storage writer: batch failed unexpectedly")
                self._abort(batch, exc)
            self.batches += 1
            self.jobs += len(batch)
            self.largest_batch = max(self.largest_batch, len(batch))
            self._answer(batch)

    def _run_batch(self, batch: list[WriteJob[Any]]) -> None:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._fail_all(batch, exc)
            return
        # A batch of one needs no savepoint: its refusal rolls back the whole transaction.
        alone = len(batch) == 1
        for job in batch:
            if not alone:
                conn.execute("SAVEPOINT job")
            try:
                job.result = job.work(conn)
            except sqlite3.IntegrityError as exc:
                if not self._rollback_job(batch, alone):
                    return
                job.error = _translated(exc)
                continue
            except (sqlite3.Error, StorageUnavailable) as exc:
                self._abort(batch, exc)
                return
            except Exception as exc:  # StorageError refusals, and the caller's own bugs
                if not self._rollback_job(batch, alone):
                    return
                job.error = exc
                continue
            if not alone:
                conn.execute("RELEASE job")
        if alone and batch[0].error is not None:
            return  # rolled back already: nothing to commit
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._abort(batch, exc)

    def _rollback_job(self, batch: list[WriteJob[Any]], alone: bool) -> bool:
        try:
            if alone:
                self._conn.execute("ROLLBACK")
            else:
                self._conn.execute("ROLLBACK TO job")
                self._conn.execute("RELEASE job")
        except sqlite3.Error as exc:
            self._abort(batch, exc)
            return False
        return True

    def _abort(self, batch: list[WriteJob[Any]], exc: BaseException) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        self._fail_all(batch, exc)

    @staticmethod
    def _fail_all(batch: list[WriteJob[Any]], exc: BaseException) -> None:
        for job in batch:
            failure = StorageUnavailable(
                f"storage: the write was not recorded ({type(exc).__name__}: {exc}); "
                "nothing of it is stored, retry later"
            )
            failure.__cause__ = exc
            job.result, job.error = None, failure

    @staticmethod
    def _answer(batch: list[WriteJob[Any]]) -> None:
        # Only now, after COMMIT (or the whole batch's failure), does any caller learn: one
        # wake-up of each event loop for all of its callers in the batch.
        by_loop: dict[asyncio.AbstractEventLoop, list[WriteJob[Any]]] = {}
        for job in batch:
            by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that event loop is already closed
                loop.call_soon_threadsafe(_settle_all, jobs)


def _translated(exc: sqlite3.IntegrityError) -> StorageError:
    error = StorageError(f"storage: constraint failed: {exc}")
    error.__cause__ = exc
    return error
