"""Whether the audit log verifies, as the console shows it: one full verification of the
database (gateway.audit_verify.verify_storage, the check `gateway audit verify` makes) run
in the background, at most one at a time, and remembered with when it ran.

Cost is bounded: a run reads the log in chunks (memory O(chunk)), yields to the event loop
between chunks, and starts only on request ("Verify now") or when the console is looked at
and the last result is older than ``stale_after``. A request never waits for a run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.audit_verify import VerificationFailed, verify_storage
from gateway.storage.base import Storage, StorageError
from gateway.tasks import cancel_and_wait

__all__ = ["LogCheck", "LogChecker"]

log = logging.getLogger("gateway")

STALE_AFTER = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class LogCheck:
    """The result of one verification run."""

    verifies: bool
    summary: str  # what was checked, or what failed and where
    first_bad_index: int | None
    entries: int
    checkpoints: int
    started_at: dt.datetime
    finished_at: dt.datetime
    seconds: float
    requested_by: str  # operator name, or "console" for an automatic run


class LogChecker:
    def __init__(
        self,
        *,
        clock: Callable[[], dt.datetime],
        stale_after: dt.timedelta = STALE_AFTER,
    ) -> None:
        self.clock = clock
        self.stale_after = stale_after
        self.last: LogCheck | None = None
        self.progress = 0  # entries checked by the running verification
        self.running_since: dt.datetime | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, storage: Storage, verifier_key: str, requested_by: str) -> bool:
        """Start a run unless one is running; True when this call started it."""
        if self.running:
            return False
        self.running_since = self.clock()
        self.progress = 0
        self._task = asyncio.create_task(
            self._run(storage, verifier_key, requested_by), name="console-log-check"
        )
        return True

    def start_if_stale(self, storage: Storage, verifier_key: str) -> bool:
        if self.last is not None and self.clock() - self.last.finished_at < self.stale_after:
            return False
        return self.start(storage, verifier_key, "console")

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    def _progress(self, done: int) -> None:
        self.progress = done

    async def _run(self, storage: Storage, verifier_key: str, requested_by: str) -> None:
        started = self.clock()
        t0 = time.perf_counter()
        verifies, first_bad, entries, checkpoints = False, None, 0, 0
        try:
            report = await verify_storage(storage, verifier_key, progress=self._progress)
        except VerificationFailed as exc:
            summary = f"the audit log does NOT verify: {exc}"
            first_bad = exc.index
        except StorageError as exc:
            summary = f"the verification could not read the database: {exc}"
        else:
            verifies, entries, checkpoints = True, report.entries, report.checkpoints_checked
            summary = (
                f"{report.entries} entries and {report.checkpoints_checked} signed checkpoints "
                f"verify; root {report.root_b64}"
            )
        self.last = LogCheck(
            verifies=verifies,
            summary=summary,
            first_bad_index=first_bad,
            entries=entries,
            checkpoints=checkpoints,
            started_at=started,
            finished_at=self.clock(),
            seconds=time.perf_counter() - t0,
            requested_by=requested_by,
        )
        self.running_since = None
        if not verifies:
            log.error("console-log-check-failed", extra={"fields": {"summary": summary}})
