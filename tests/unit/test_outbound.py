"""gateway.outbound: the delivery worker's HTTP side (slots per recipient over small pools,
one POST through the transport with the fields a client would send, nothing kept)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from gateway.outbound import CLIENT_HEADERS, Lanes, post

URL = httpx.URL("http://ae-moi.test/inbox")


def test_the_request_has_the_fields_an_httpx_client_would_send() -> None:
    body = b"<gcc:Message/>"
    fields = [("content-type", "application/xml"), ("signature", "sig1=:AAAA:")]
    client = httpx.AsyncClient()
    try:
        expected = client.build_request("POST", URL, content=body, headers=dict(fields))
    finally:
        asyncio.run(client.aclose())
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    got = asyncio.run(
        post(httpx.MockTransport(answer), URL, fields, body, timeout_seconds=5, answer_limit=100)
    )
    assert got.status == 202
    (request,) = seen
    assert request.headers.raw == expected.headers.raw  # same names, spelling, order
    assert request.content == body
    assert dict(CLIENT_HEADERS)["User-Agent"] == f"python-httpx/{httpx.__version__}"


def test_a_cookie_a_recipient_sets_is_neither_kept_nor_sent_back() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, headers={"set-cookie": f"s{len(seen)}=x; Path=/"})

    async def twice() -> None:
        transport = httpx.MockTransport(answer)
        for _ in range(2):
            await post(transport, URL, [], b"{}", timeout_seconds=5, answer_limit=100)

    asyncio.run(twice())
    assert [r.headers.get("cookie") for r in seen] == [None, None]


def test_answers_are_cut_at_the_limit_and_headers_joined() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=[("X-A", "1"), ("x-a", "2")], content=b"x" * 1000)

    got = asyncio.run(
        post(httpx.MockTransport(answer), URL, [], b"", timeout_seconds=5, answer_limit=100)
    )
    assert (got.status, got.body, got.truncated) == (200, b"x" * 100, True)
    assert got.headers["x-a"] == "1, 2"


def test_a_network_error_is_an_answer_without_status() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    got = asyncio.run(
        post(httpx.MockTransport(refuse), URL, [], b"", timeout_seconds=5, answer_limit=100)
    )
    assert got.status is None
    assert got.error == "ConnectError: connection refused"


@pytest.mark.parametrize(
    ("slots", "size", "pools"), [(8, 8, [8]), (32, 8, [8] * 4), (10, 4, [4, 4, 2])]
)
def test_slots_are_spread_over_pools_of_at_most_pool_connections(
    slots: int, size: int, pools: list[int]
) -> None:
    async def scenario() -> None:
        lanes = Lanes(per_recipient=slots, pool_connections=size)
        held: list[httpx.AsyncBaseTransport] = []
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(slots):
                held.append(await stack.enter_async_context(lanes.slot("ae-moi")))
            # every slot is taken: the next attempt waits for one
            waiting = asyncio.create_task(stack.enter_async_context(lanes.slot("ae-moi")))
            await asyncio.sleep(0.01)
            assert not waiting.done()
        await asyncio.wait_for(waiting, timeout=1)
        counts = [held.count(t) for t in dict.fromkeys(held)]
        assert counts == pools
        other = lanes.slot("sa-psd")  # another recipient: its own slots and pools
        async with other as transport:
            assert transport not in held
        await lanes.aclose()

    asyncio.run(scenario())


def test_a_given_transport_serves_every_slot_and_is_not_closed() -> None:
    closed: list[bool] = []

    class Given(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    given = Given(lambda request: httpx.Response(202))

    async def scenario() -> None:
        lanes = Lanes(per_recipient=3, pool_connections=1, transport=given)
        async with lanes.slot("a") as first, lanes.slot("a") as second:
            assert first is given and second is given
        await lanes.aclose()

    asyncio.run(scenario())
    assert closed == []
