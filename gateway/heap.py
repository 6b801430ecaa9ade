"""The serving process's garbage-collector settings (docs/performance.md, "Heap").

A worker allocates a few thousand container objects per message (models, dicts, lists),
almost all freed by reference counting as soon as the message is answered. CPython's
default collector runs a young-generation pass every 700 net allocations, i.e. several
times per message, and its older passes walk every long-lived object: the modules,
schemas, routing tables and caches built at start-up, which never become garbage.

`settle_for_serving` runs once, when the app has started: one full collection, then
`gc.freeze()` moves every object alive at that point to the permanent generation (no
pass ever walks them again; reference counting still frees them), and the young
generation's threshold is raised so that a pass runs every few messages instead of several
times per message. Cycles are still collected, only less often: garbage in cycles is
bounded by the threshold (tens of thousands of objects, a few MiB at most).
"""

from __future__ import annotations

import gc

# Net container allocations between two young-generation passes (CPython's default: 700).
GEN0_THRESHOLD = 50_000
# Young passes per middle-generation pass, middle passes per full pass (defaults: 10, 10).
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 20


def settle_for_serving() -> None:
    """Collect once, freeze what start-up built, and space the collector's passes out.
    For a long-running server process, once, after start-up (not for tests or tools that
    build many apps in one process: frozen objects in cycles are never collected)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
