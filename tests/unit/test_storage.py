"""The storage contract (gateway/storage/base.py), run against every backend in `site`."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from gateway.storage import (
    AttemptRow,
    BodyRow,
    DeliveryState,
    DeliveryUpdate,
    DuplicateMessage,
    EventFilter,
    EventRow,
    NonceReplayed,
    NonceRow,
    ReferenceRow,
    Storage,
    StorageError,
    StoredCheckpoint,
    Transaction,
)
from tests.storage_builders import T0, body_row, message_tx

if TYPE_CHECKING:
    from tests.storage_fixtures import StorageSite

pytest_plugins = ["tests.storage_fixtures"]  # the `site` / `storage` fixtures, every backend
pytestmark = pytest.mark.anyio

LEASE = dt.timedelta(seconds=30)


# ---- commit and read back ------------------------------------------------------------------


async def test_commit_writes_every_part_of_a_message(storage: Storage) -> None:
    tx = message_tx(1)
    result = await storage.commit(tx)

    assert result.event_indices == (0, 1, 2)
    assert await storage.event_count() == 3
    events = await storage.get_events(0, 3)
    assert [e.leaf for e in events] == [e.leaf for e in tx.events]
    assert [e.index for e in events] == [0, 1, 2]
    assert events[0].at == T0 and events[0].message_id == "msg-00001"

    assert tx.message is not None
    stored = await storage.find_message("ncb-fr", "msg-00001")
    assert stored is not None
    assert stored.received_index == 0
    assert stored.body_sha256 == tx.message.body_sha256
    assert stored.received_at == T0
    assert stored.outcome == b'{"routing":"ok"}'
    assert (stored.keyid, stored.signature) == ("ncb-fr-2026", "sig1=:1:")

    assert await storage.nonce_seen("ncb-fr-2026", "nonce-1")
    assert not await storage.nonce_seen("ncb-fr-2026", "nonce-2")
    assert not await storage.nonce_seen("other-key", "nonce-1")

    for body in tx.bodies:
        got = await storage.get_body(body.sha256)
        assert got is not None
        assert (got.body, got.media_type, got.erased_at) == (body.body, body.media_type, None)

    deliveries = await storage.deliveries_of_message("msg-00001")
    assert [d.recipient for d in deliveries] == ["gcc-ae", "gcc-sa"]
    assert all(d.state is DeliveryState.PENDING and d.attempts == 0 for d in deliveries)
    assert deliveries[0].delivered_message_id == "gw-msg-00001-gcc-ae"
    assert await storage.get_delivery("msg-00001:gcc-sa") == deliveries[1]
    assert await storage.get_delivery("nope") is None

    assert await storage.notice_for_reference("INTERPOL", "2026/1") == "INTERPOL:2026/1"
    assert await storage.references_of("INTERPOL:2026/1") == {"INTERPOL": "2026/1"}
    assert await storage.recipients_of("INTERPOL:2026/1") == frozenset({"gcc-ae", "gcc-sa"})
    assert await storage.recipients_of("INTERPOL:unknown") == frozenset()


async def test_ingress_facts_are_the_four_reads_in_one(storage: Storage) -> None:
    await storage.commit(message_tx(1))
    await storage.commit(
        Transaction(references=[ReferenceRow("INTERPOL:2026/1", "GCCPOL", "GCC-1")])
    )
    # A known message, its notice found by a reference of the other side.
    facts = await storage.ingress_facts(
        "ncb-fr", "msg-00001", "GCCPOL", "GCC-1", default_key="GCCPOL:GCC-1", recipients=True
    )
    assert facts.existing == await storage.find_message("ncb-fr", "msg-00001")
    assert facts.notice_key == "INTERPOL:2026/1"
    assert facts.references == await storage.references_of("INTERPOL:2026/1")
    assert facts.references == {"INTERPOL": "2026/1", "GCCPOL": "GCC-1"}
    assert facts.recipients == frozenset({"gcc-ae", "gcc-sa"})
    # A new message about a new notice: the default key, nothing known; recipients only
    # when asked for.
    fresh = await storage.ingress_facts(
        "ncb-fr", "msg-new", "INTERPOL", "2026/9", default_key="INTERPOL:2026/9", recipients=True
    )
    assert (fresh.existing, fresh.notice_key, fresh.references, fresh.recipients) == (
        None,
        "INTERPOL:2026/9",
        {},
        frozenset(),
    )
    unasked = await storage.ingress_facts(
        "ncb-fr", "msg-new", "INTERPOL", "2026/1", default_key="x", recipients=False
    )
    assert (unasked.notice_key, unasked.recipients) == ("INTERPOL:2026/1", frozenset())


async def test_indices_continue_and_received_index_points_at_the_received_event(
    storage: Storage,
) -> None:
    await storage.commit(message_tx(1))
    tx = message_tx(2, events=5)
    assert tx.message is not None
    tx.message = replace(tx.message, received_event_pos=3)
    result = await storage.commit(tx)
    assert result.event_indices == (3, 4, 5, 6, 7)
    stored = await storage.find_message("ncb-fr", "msg-00002")
    assert stored is not None and stored.received_index == 6


async def test_event_only_transaction(storage: Storage) -> None:
    row = EventRow(leaf=b'{"kind":"refused"}', kind="refused", at=T0, outcome="bad-signature")
    assert (await storage.commit(Transaction(events=[row]))).event_indices == (0,)
    assert (await storage.commit(Transaction())).event_indices == ()
    assert await storage.event_count() == 1


async def test_a_body_stored_twice_is_stored_once(storage: Storage) -> None:
    shared = body_row('{"same":"bytes"}')
    await storage.commit(Transaction(bodies=[shared]))
    first = await storage.get_body(shared.sha256)
    await storage.commit(Transaction(bodies=[shared, shared]))
    assert await storage.get_body(shared.sha256) == first


async def test_messages_by_id_lists_every_sender(storage: Storage) -> None:
    await storage.commit(message_tx(1, sender="ncb-fr", message_id="same"))
    await storage.commit(
        message_tx(2, sender="ncb-de", message_id="same", keyid="de", recipients=("x",))
    )
    found = await storage.messages_by_id("same")
    assert [m.sender for m in found] == ["ncb-fr", "ncb-de"]
    assert await storage.messages_by_id("other") == []


async def test_first_reference_mapping_wins(storage: Storage) -> None:
    await storage.commit(
        Transaction(
            references=[
                ReferenceRow("N1", "INTERPOL", "A-1"),
                ReferenceRow("N1", "GCCPOL", "G-1"),
            ]
        )
    )
    await storage.commit(Transaction(references=[ReferenceRow("N2", "INTERPOL", "A-1")]))
    assert await storage.notice_for_reference("INTERPOL", "A-1") == "N1"
    assert await storage.references_of("N1") == {"INTERPOL": "A-1", "GCCPOL": "G-1"}
    assert await storage.references_of("N2") == {}


# ---- refusals roll back exactly one transaction --------------------------------------------


async def _snapshot(storage: Storage, n: int) -> tuple[object, ...]:
    tx = message_tx(n)
    return (
        await storage.event_count(),
        await storage.find_message("ncb-fr", f"msg-{n:05d}"),
        [await storage.get_body(b.sha256) for b in tx.bodies],
        await storage.deliveries_of_message(f"msg-{n:05d}"),
        await storage.notice_for_reference("INTERPOL", f"2026/{n}"),
    )


async def test_replayed_nonce_leaves_nothing_behind(storage: Storage) -> None:
    await storage.commit(message_tx(1, nonce="n"))
    before = await _snapshot(storage, 2)
    with pytest.raises(NonceReplayed) as caught:
        await storage.commit(message_tx(2, nonce="n"))
    assert (caught.value.keyid, caught.value.nonce) == ("ncb-fr-2026", "n")
    assert await _snapshot(storage, 2) == before
    assert before[0] == 3 and before[1] is None


async def test_duplicate_message_returns_the_stored_row(storage: Storage) -> None:
    await storage.commit(message_tx(1, message_id="dup"))
    original = await storage.find_message("ncb-fr", "dup")
    twin = message_tx(2, message_id="dup")  # new nonce, new bodies, same (sender, id)
    with pytest.raises(DuplicateMessage) as caught:
        await storage.commit(twin)
    assert caught.value.existing == original
    assert await storage.event_count() == 3
    assert await storage.get_body(twin.bodies[0].sha256) is None
    assert not await storage.nonce_seen("ncb-fr-2026", "nonce-2")


async def test_concurrent_failures_do_not_disturb_the_others(storage: Storage) -> None:
    # Every third transaction replays a nonce of an earlier one: it alone must fail.
    txs = [message_tx(i, nonce=f"n{i - 1}" if i % 3 == 2 else f"n{i}") for i in range(60)]
    await storage.commit(txs[0])
    await storage.commit(txs[1])
    results = await asyncio.gather(*(storage.commit(t) for t in txs[2:]), return_exceptions=True)
    refused: set[int] = set()
    for i, res in enumerate(results, start=2):
        ok = await storage.find_message("ncb-fr", f"msg-{i:05d}")
        if isinstance(res, BaseException):
            assert isinstance(res, NonceReplayed) and ok is None
            refused.add(i)
        else:
            assert ok is not None
    # Of two concurrent commits with one nonce exactly one wins; which one is the database's
    # choice (one writer in SQLite: the first queued; PostgreSQL: the first to insert).
    # Tx 2 replays tx 1, which committed before it was sent.
    assert 2 in refused
    for i in range(5, 60, 3):
        assert len({i - 1, i} & refused) == 1, (i, refused)
    assert len(refused) == 20 and all(i % 3 != 0 for i in refused)


async def test_update_of_unknown_delivery_fails_the_whole_transaction(storage: Storage) -> None:
    update = DeliveryUpdate("ghost", DeliveryState.DELIVERED, 1, None)
    row = EventRow(leaf=b"e", kind="delivered", at=T0)
    with pytest.raises(StorageError, match="ghost"):
        await storage.commit(Transaction(events=[row], delivery_updates=[update]))
    assert await storage.event_count() == 0


async def test_bad_input_is_refused_before_anything_is_written(storage: Storage) -> None:
    naive = EventRow(leaf=b"e", kind="k", at=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        await storage.commit(Transaction(events=[naive]))
    wrong = BodyRow(sha256="00" * 32, body=b"abc", media_type="text/plain")
    with pytest.raises(ValueError, match=r"SHA-256 is ba7816bf"):
        await storage.commit(Transaction(bodies=[wrong]))
    tx = message_tx(1)
    assert tx.message is not None
    tx.message = replace(tx.message, received_event_pos=3)
    with pytest.raises(ValueError, match=r"received_event_pos is 3; expected 0\.\.2"):
        await storage.commit(tx)
    assert await storage.event_count() == 0


async def test_contiguous_indices_under_200_concurrent_commits(storage: Storage) -> None:
    # Some fail (replayed nonce): their indices go to the next transaction, no gaps.
    txs = [
        message_tx(i, nonce="dup" if i % 10 == 9 else None, events=1 + i % 4) for i in range(200)
    ]
    results = await asyncio.gather(*(storage.commit(t) for t in txs), return_exceptions=True)
    indices: list[int] = []
    expected_leaves: dict[int, bytes] = {}
    for tx, res in zip(txs, results, strict=True):
        if isinstance(res, BaseException):
            assert isinstance(res, NonceReplayed)
            continue
        assert list(res.event_indices) == list(
            range(res.event_indices[0], res.event_indices[0] + len(tx.events))
        )
        indices.extend(res.event_indices)
        expected_leaves.update(zip(res.event_indices, (e.leaf for e in tx.events), strict=True))
    assert sum(isinstance(r, NonceReplayed) for r in results) == 19
    assert sorted(indices) == list(range(len(indices)))
    assert await storage.event_count() == len(indices)
    stored = await storage.get_events(0, len(indices))
    assert {e.index: e.leaf for e in stored} == expected_leaves


# ---- nonces and bodies ------------------------------------------------------------------------


async def test_purge_nonces_removes_only_expired(storage: Storage) -> None:
    for i in range(4):
        nonce = NonceRow("k", f"n{i}", T0 + dt.timedelta(minutes=i))
        await storage.commit(Transaction(nonce=nonce))
    assert await storage.purge_nonces(T0 + dt.timedelta(minutes=2)) == 2
    seen = [await storage.nonce_seen("k", f"n{i}") for i in range(4)]
    assert seen == [False, False, True, True]


async def test_a_nonce_is_seen_once_committed_and_after_a_reopen(site: StorageSite) -> None:
    storage = await site.open()
    for i in range(3):
        await storage.commit(Transaction(nonce=NonceRow("k", f"n{i}", T0)))
    assert [await storage.nonce_seen("k", f"n{i}") for i in range(4)] == [True] * 3 + [False]
    with pytest.raises(NonceReplayed):
        await storage.commit(Transaction(nonce=NonceRow("k", "n1", T0)))
    await storage.close()
    again = await site.open()  # a restarted gateway still knows every stored nonce
    assert [await again.nonce_seen("k", f"n{i}") for i in range(4)] == [True] * 3 + [False]
    assert not await again.nonce_seen("k2", "n1")


async def test_erase_keeps_the_digest_row(site: StorageSite) -> None:
    storage = await site.open()
    old = body_row("old personal data")
    await storage.commit(Transaction(bodies=[old]))
    tx = message_tx(1)  # bodies of a pending delivery must survive until it ends
    await storage.commit(tx)
    erased = await storage.erase_bodies(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    # the original body of message 1 is not referenced by a pending delivery
    assert sorted(erased) == sorted([old.sha256, tx.bodies[0].sha256])
    gone = await storage.get_body(old.sha256)
    assert gone is not None and gone.body is None and gone.erased_at is not None
    assert gone.media_type == old.media_type
    kept = await storage.get_body(tx.bodies[1].sha256)
    assert kept is not None and kept.body == tx.bodies[1].body
    assert await storage.erase_bodies(dt.datetime.now(dt.UTC)) == []
    # the same bytes sent again after erasure are stored again
    await storage.commit(Transaction(bodies=[old]))
    back = await storage.get_body(old.sha256)
    assert back is not None and back.body == old.body and back.erased_at is None


async def test_erase_respects_the_cutoff(storage: Storage) -> None:
    await storage.commit(Transaction(bodies=[body_row("recent")]))
    assert await storage.erase_bodies(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) == []


# ---- deliveries and leases --------------------------------------------------------------------


async def test_two_claimers_never_share_a_delivery(storage: Storage) -> None:
    for i in range(10):
        await storage.commit(message_tx(i))  # 20 deliveries due at T0
    first, second = await asyncio.gather(
        storage.claim_deliveries(T0, 15, "w1", LEASE),
        storage.claim_deliveries(T0, 15, "w2", LEASE),
    )
    ids1, ids2 = {d.delivery_id for d in first}, {d.delivery_id for d in second}
    assert not ids1 & ids2
    assert len(ids1 | ids2) == 20
    # leased: nobody gets them again until the lease runs out …
    assert await storage.claim_deliveries(T0 + LEASE, 50, "w3", LEASE) == []
    # … then they come back by themselves (the worker that held them may have crashed)
    again = await storage.claim_deliveries(T0 + LEASE + dt.timedelta(seconds=1), 50, "w3", LEASE)
    assert {d.delivery_id for d in again} == ids1 | ids2


async def test_claim_takes_only_due_pending_in_due_order(storage: Storage) -> None:
    await storage.commit(message_tx(1, due=T0 + dt.timedelta(seconds=5), recipients=("a",)))
    await storage.commit(message_tx(2, due=T0 + dt.timedelta(seconds=1), recipients=("b",)))
    await storage.commit(message_tx(3, due=T0 + dt.timedelta(hours=1), recipients=("c",)))
    assert await storage.next_due() == T0 + dt.timedelta(seconds=1)
    got = await storage.claim_deliveries(T0 + dt.timedelta(seconds=10), 10, "w", LEASE)
    assert [d.delivery_id for d in got] == ["msg-00002:b", "msg-00001:a"]
    assert await storage.claim_deliveries(T0 + dt.timedelta(seconds=10), 0, "w", LEASE) == []
    # the leased ones are due again when their leases end; the third is due later still
    assert await storage.next_due() == T0 + dt.timedelta(seconds=10) + LEASE


async def test_delivery_update_records_the_attempt_and_clears_the_lease(storage: Storage) -> None:
    await storage.commit(message_tx(1, recipients=("gcc-ae",)))
    (claimed,) = await storage.claim_deliveries(T0, 5, "w1", LEASE)
    retry_at = T0 + dt.timedelta(seconds=2)
    attempt = AttemptRow(claimed.delivery_id, 1, T0, 503, "unavailable", 12.5)
    update = DeliveryUpdate(
        claimed.delivery_id, DeliveryState.PENDING, 1, retry_at, 503, "unavailable", attempt
    )
    await storage.commit(Transaction(delivery_updates=[update]))
    # lease cleared: claimable as soon as it is due, long before the old lease ends
    (again,) = await storage.claim_deliveries(retry_at, 5, "w2", LEASE)
    assert (again.attempts, again.last_status, again.last_error) == (1, 503, "unavailable")
    assert again.next_attempt_at == retry_at

    answer = AttemptRow(again.delivery_id, 2, retry_at, 200, None, 8.0, b"{}", "sig=:x:")
    done = DeliveryUpdate(again.delivery_id, DeliveryState.DELIVERED, 2, None, 200, None, answer)
    await storage.commit(Transaction(delivery_updates=[done]))
    assert await storage.attempts_of(again.delivery_id) == [attempt, answer]
    final = await storage.get_delivery(again.delivery_id)
    assert final is not None and final.state is DeliveryState.DELIVERED
    assert final.next_attempt_at is None
    assert await storage.claim_deliveries(T0 + dt.timedelta(days=1), 5, "w3", LEASE) == []
    assert await storage.next_due() is None


async def test_list_deliveries_by_state_with_cursor(storage: Storage) -> None:
    for i in range(3):
        await storage.commit(message_tx(i))  # 6 deliveries
    dead = DeliveryUpdate("msg-00001:gcc-ae", DeliveryState.DEAD, 8, None, 400, "refused")
    await storage.commit(Transaction(delivery_updates=[dead]))
    every = await storage.list_deliveries(None, 100)
    assert [d.delivery_id for d in every] == sorted(d.delivery_id for d in every)
    assert len(every) == 6
    page1 = await storage.list_deliveries(DeliveryState.PENDING, 3)
    page2 = await storage.list_deliveries(DeliveryState.PENDING, 3, after=page1[-1].delivery_id)
    assert len(page1) == 3 and len(page2) == 2
    assert "msg-00001:gcc-ae" not in {d.delivery_id for d in page1 + page2}
    assert [d.delivery_id for d in await storage.list_deliveries(DeliveryState.DEAD, 9)] == [
        "msg-00001:gcc-ae"
    ]
    assert await storage.count_deliveries(DeliveryState.PENDING) == 5
    assert await storage.count_deliveries(DeliveryState.DEAD) == 1
    assert await storage.count_deliveries(DeliveryState.DELIVERED) == 0


# ---- audit log search -------------------------------------------------------------------------


async def _fill_log(storage: Storage) -> None:
    for i in range(12):
        await storage.commit(
            message_tx(
                i,
                sender="ncb-fr" if i % 2 else "gcc-ae",
                keyid=f"k{i % 2}",
                at=T0 + dt.timedelta(minutes=i),
                events=2,
            )
        )


async def test_search_filters(storage: Storage) -> None:
    await _fill_log(storage)  # 24 events: event 2i, 2i+1 belong to message i
    by_msg = await storage.search_events(EventFilter(message_id="msg-00004"), 10)
    assert [e.index for e in by_msg] == [9, 8]
    by_sender = await storage.search_events(EventFilter(participant="ncb-fr"), 100)
    assert len(by_sender) == 12 and all(e.participant == "ncb-fr" for e in by_sender)
    by_kind = await storage.search_events(EventFilter(kind="routed", participant="gcc-ae"), 100)
    assert [e.index for e in by_kind] == [21, 17, 13, 9, 5, 1]
    assert await storage.search_events(EventFilter(outcome="refused"), 10) == []
    window = EventFilter(since=T0 + dt.timedelta(minutes=3), until=T0 + dt.timedelta(minutes=5))
    assert [e.index for e in await storage.search_events(window, 10)] == [9, 8, 7, 6]
    assert await storage.search_events(EventFilter(), 0) == []


async def test_search_pages_both_ways(storage: Storage) -> None:
    await _fill_log(storage)
    seen: list[int] = []
    before: int | None = None
    while True:
        page = await storage.search_events(EventFilter(), 5, before=before)
        seen += [e.index for e in page]
        if len(page) < 5:
            break
        before = page[-1].index
    assert seen == list(range(23, -1, -1))

    seen = []
    after: int | None = None
    while True:
        page = await storage.search_events(EventFilter(participant="ncb-fr"), 5, after=after)
        seen += [e.index for e in page]
        if len(page) < 5:
            break
        after = page[-1].index
    assert seen == [i for i in range(24) if (i // 2) % 2 == 1]
    assert [e.index for e in await storage.search_events(EventFilter(), 3)] == [23, 22, 21]


# ---- tree and checkpoints ---------------------------------------------------------------------


def _h(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


async def test_save_tree_and_read_nodes(storage: Storage) -> None:
    await storage.commit(message_tx(1, events=4))
    assert await storage.tree_size() == 0
    assert await storage.latest_checkpoint() is None
    nodes = [((0, i), _h(f"leaf{i}")) for i in range(4)] + [((1, 0), _h("a")), ((2, 0), _h("r"))]
    cp2 = StoredCheckpoint(2, _h("root2"), b"note 2\n", T0)
    await storage.save_tree(nodes[:2], 2, cp2)
    cp4 = StoredCheckpoint(4, _h("r"), b"note 4\n", T0 + dt.timedelta(seconds=1))
    await storage.save_tree(nodes, 4, cp4)  # re-sending stored nodes is harmless
    assert await storage.tree_size() == 4
    assert await storage.latest_checkpoint() == cp4
    assert await storage.checkpoints() == [cp4, cp2]
    assert await storage.checkpoints(limit=1) == [cp4]

    reader = storage.node_reader()
    keys = [(0, 0), (0, 3), (2, 0), (5, 5)]
    got = await asyncio.to_thread(reader.get_nodes, keys)
    assert got == {(0, 0): _h("leaf0"), (0, 3): _h("leaf3"), (2, 0): _h("r")}
    many = [(0, i) for i in range(1000)]  # more keys than one query takes
    assert len(await asyncio.to_thread(reader.get_nodes, many)) == 4


async def test_save_tree_refuses_forks_and_shrinking(storage: Storage) -> None:
    await storage.commit(message_tx(1, events=4))
    await storage.save_tree([((0, 0), _h("x"))], 2, None)
    with pytest.raises(StorageError, match=r"node \(0, 0\) is already stored with another hash"):
        await storage.save_tree([((0, 0), _h("y"))], 3, None)
    with pytest.raises(StorageError, match=r"tree size 1 is outside 2\.\.4"):
        await storage.save_tree([], 1, None)
    with pytest.raises(StorageError, match=r"tree size 5 is outside 2\.\.4"):
        await storage.save_tree([], 5, None)
    assert await storage.tree_size() == 2


# ---- durability across reopen -----------------------------------------------------------------


async def test_everything_is_there_after_close_and_reopen(site: StorageSite) -> None:
    first = await site.open()
    txs = [message_tx(i) for i in range(20)]
    results = await asyncio.gather(*(first.commit(t) for t in txs))
    await first.save_tree([((0, 0), _h("l0"))], 1, StoredCheckpoint(1, _h("r"), b"n", T0))
    before = [await first.get_events(0, 60), await first.list_deliveries(None, 100)]
    await first.close()

    second = await site.open()
    assert await second.event_count() == 60
    assert [await second.get_events(0, 60), await second.list_deliveries(None, 100)] == before
    for tx, res in zip(txs, results, strict=True):
        assert tx.message is not None
        stored = await second.find_message(tx.message.sender, tx.message.message_id)
        assert stored is not None and stored.received_index == res.event_indices[0]
    assert await second.tree_size() == 1
    assert await second.latest_checkpoint() == StoredCheckpoint(1, _h("r"), b"n", T0)
    # indices go on from where they were
    assert (await second.commit(message_tx(99))).event_indices == (60, 61, 62)


async def test_ping_and_closed_storage(site: StorageSite) -> None:
    storage = await site.open()
    await storage.ping()
    await storage.close()
    with pytest.raises(StorageError):
        await storage.commit(message_tx(1))
