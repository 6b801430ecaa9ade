"""gateway.randomness: identifiers and nonces drawn ahead from os.urandom."""

from __future__ import annotations

import base64
import os
import uuid

from gateway import randomness


def test_uuids_are_version_4_and_distinct_across_refills() -> None:
    made = [randomness.random_uuid() for _ in range(2000)]  # several 4 KiB refills
    assert len(set(made)) == len(made)
    assert {u.version for u in made} == {4}
    assert {u.variant for u in made} == {uuid.RFC_4122}


def test_nonces_are_unpadded_urlsafe_base64_of_the_asked_length() -> None:
    nonce = randomness.random_nonce(16)
    assert len(nonce) == 22 and "=" not in nonce
    assert len(base64.urlsafe_b64decode(nonce + "==")) == 16
    assert len({randomness.random_nonce(12) for _ in range(500)}) == 500


def test_large_requests_go_straight_to_the_os() -> None:
    assert len(randomness.random_bytes(5000)) == 5000


def test_a_forked_child_does_not_reuse_the_parents_bytes() -> None:
    randomness.random_bytes(16)  # the parent holds a partly used buffer
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next 64 bytes, then leave at once
        os.close(read_end)
        os.write(write_end, randomness.random_bytes(64))
        os._exit(0)
    os.close(write_end)
    child = b""
    while chunk := os.read(read_end, 64):
        child += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    parent = randomness.random_bytes(64)
    assert len(child) == 64 and child != parent
