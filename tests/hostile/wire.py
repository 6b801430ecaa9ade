"""Raw HTTP/1.1 over a socket: the corpus sends what no well-behaved client library would
(folded fields, NUL bytes, 300 kB headers), so the request is written byte by byte."""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass

from tests.harness import GatewayFixture
from tests.hostile.corpus import Case, Headers

PATH = "/v1/messages"


@dataclass(frozen=True)
class RawResponse:
    status: int | None  # None: the server closed without answering
    headers: dict[str, str]
    body: bytes


def request_headers(cfg: GatewayFixture, case: Case) -> Headers:
    from gateway.signatures import sign_request

    base: dict[str, str] = {}
    if case.media_type is not None:
        base["content-type"] = case.media_type
    fields: Headers = [("Host", cfg.authority)]
    if case.media_type is not None:
        fields.append(("Content-Type", case.media_type))
    if case.sign_as is not None:
        signed = sign_request(
            "POST",
            cfg.authority,
            PATH,
            base,
            case.body,
            key=cfg.keys[case.sign_as],
            keyid=cfg.keyid(case.sign_as),
            created=int(time.time()) + case.created_offset,
            nonce=f"hostile-{time.monotonic_ns()}",
        )
        fields += [
            ("Content-Digest", signed["content-digest"]),
            ("Signature-Input", signed["signature-input"]),
            ("Signature", signed["signature"]),
        ]
    if case.rewrite is not None:
        fields = case.rewrite(fields)
    return fields


def encode_request(fields: Headers, body: bytes) -> bytes:
    chunked = any(n.lower() == "transfer-encoding" for n, _ in fields)
    if chunked:
        size = 64 * 1024
        parts = [
            b"%x\r\n" % len(body[i : i + size]) + body[i : i + size] + b"\r\n"
            for i in range(0, len(body), size)
        ]
        payload = b"".join(parts) + b"0\r\n\r\n"
    else:
        fields = [*fields, ("Content-Length", str(len(body)))]
        payload = body
    head = f"POST {PATH} HTTP/1.1\r\n".encode("latin-1")
    for name, value in [*fields, ("Connection", "close")]:
        head += name.encode("latin-1") + b": " + value.encode("utf-8") + b"\r\n"
    return head + b"\r\n" + payload


def send_raw(port: int, raw: bytes, timeout: float = 20.0) -> RawResponse:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # it may answer and close before reading all
            sock.sendall(raw)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return parse_response(data)


def parse_response(data: bytes) -> RawResponse:
    if not data.startswith(b"HTTP/1.1 "):
        return RawResponse(None, {}, data)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return RawResponse(status, headers, body)
