"""Stopping background tasks cleanly."""

from __future__ import annotations

import asyncio


async def cancel_and_wait(task: asyncio.Task[object] | asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it has finished, whatever it ends with.

    Unlike ``task.cancel(); with suppress(CancelledError): await task``, a cancellation of
    the caller itself still propagates (it is not mistaken for the task's), and the task's
    own exception, if any, stays with the task (retrieved, so it is not reported as never
    retrieved)."""
    if task.done():
        if not task.cancelled():
            task.exception()
        return
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()
