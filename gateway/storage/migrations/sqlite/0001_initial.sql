-- The embedded schema (docs/storage.md). Times are INTEGER microseconds since the Unix
-- epoch, UTC; JSON values are BLOBs of UTF-8 bytes exactly as the gateway wrote them.

-- The audit log: one row per leaf, idx contiguous from 0 in commit order (audit.md).
CREATE TABLE events (
    idx         INTEGER PRIMARY KEY,        -- the log index (rowid alias)
    leaf        BLOB    NOT NULL,           -- RFC 8785 canonical event bytes
    kind        TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    message_id  TEXT,
    participant TEXT,
    outcome     TEXT    NOT NULL
);
-- (column, idx): every search walks one index in idx order, so keyset pages stay O(page).
CREATE INDEX events_message_id ON events (message_id, idx);
CREATE INDEX events_participant ON events (participant, idx);
CREATE INDEX events_kind ON events (kind, idx);
CREATE INDEX events_outcome ON events (outcome, idx);
CREATE INDEX events_at ON events (at, idx);

-- Complete-subtree hashes of the RFC 9162 tree: (level, idx) covers leaves
-- [idx * 2^level, (idx + 1) * 2^level).
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- How many events are integrated into the tree (single row).
CREATE TABLE tree_head (
    id   INTEGER PRIMARY KEY CHECK (id = 0),
    size INTEGER NOT NULL CHECK (size >= 0)
);
INSERT INTO tree_head (id, size) VALUES (0, 0);

CREATE TABLE checkpoints (
    tree_size INTEGER PRIMARY KEY,
    root      BLOB    NOT NULL,
    note      BLOB    NOT NULL,             -- the C2SP signed note exactly as published
    signed_at INTEGER NOT NULL
);

-- Bodies by digest: stored once however often they are sent; erasure keeps the row.
CREATE TABLE bodies (
    sha256     TEXT PRIMARY KEY,
    body       BLOB,                        -- NULL once erased
    media_type TEXT    NOT NULL,
    stored_at  INTEGER NOT NULL,
    erased_at  INTEGER
);
CREATE INDEX bodies_unerased ON bodies (stored_at) WHERE body IS NOT NULL;

-- Replay protection (RFC 9421 nonce), written in the same transaction as the events.
CREATE TABLE nonces (
    keyid      TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (keyid, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_expires_at ON nonces (expires_at);

CREATE TABLE messages (
    sender         TEXT    NOT NULL,
    message_id     TEXT    NOT NULL,
    body_sha256    TEXT    NOT NULL REFERENCES bodies (sha256),
    kind           TEXT    NOT NULL,
    notice_key     TEXT    NOT NULL,
    received_at    INTEGER NOT NULL,
    outcome        BLOB    NOT NULL,
    received_index INTEGER NOT NULL REFERENCES events (idx),
    keyid          TEXT    NOT NULL,
    signature      TEXT    NOT NULL,
    PRIMARY KEY (sender, message_id)
);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_notice_key ON messages (notice_key);

CREATE TABLE deliveries (
    delivery_id          TEXT    PRIMARY KEY,
    message_id           TEXT    NOT NULL,
    sender               TEXT    NOT NULL,
    recipient            TEXT    NOT NULL,
    notice_key           TEXT    NOT NULL,
    kind                 TEXT    NOT NULL,
    body_sha256          TEXT    NOT NULL REFERENCES bodies (sha256),
    media_type           TEXT    NOT NULL,
    delivered_message_id TEXT    NOT NULL,
    state                TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      INTEGER,
    last_status          INTEGER,
    last_error           TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    losses               BLOB    NOT NULL,
    lease_owner          TEXT,             -- the worker holding it, until lease_until
    lease_until          INTEGER,
    FOREIGN KEY (sender, message_id) REFERENCES messages (sender, message_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_state ON deliveries (state, delivery_id);
CREATE INDEX deliveries_message_id ON deliveries (message_id);
CREATE INDEX deliveries_notice_key ON deliveries (notice_key, recipient);

CREATE TABLE attempts (
    delivery_id      TEXT    NOT NULL REFERENCES deliveries (delivery_id),
    attempt          INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    status_code      INTEGER,
    error            TEXT,
    duration_ms      REAL    NOT NULL,
    answer           BLOB,
    answer_signature TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

-- A notice's identifiers on each side ("references" is an SQL keyword).
CREATE TABLE notice_references (
    system     TEXT NOT NULL,
    reference  TEXT NOT NULL,
    notice_key TEXT NOT NULL,
    PRIMARY KEY (system, reference)
);
CREATE INDEX notice_references_notice_key ON notice_references (notice_key);
