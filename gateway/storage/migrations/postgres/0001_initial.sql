-- The shared schema (docs/storage.md, docs/architecture.md "Concurrency"). Times are BIGINT
-- microseconds since the Unix epoch, UTC, exactly as in the SQLite backend; JSON values are
-- BYTEA of UTF-8 bytes exactly as the gateway wrote them. Every table lives in the first
-- schema of the connection's search_path, so one database can hold several gateways.
-- Keys and cursors compare as bytes (COLLATE "C"), like SQLite, whatever the database's locale.

-- The audit log: one row per leaf, idx contiguous from 0 in commit order (audit.md). idx is
-- assigned inside the committing transaction under a transaction-level advisory lock.
CREATE TABLE events (
    idx         BIGINT PRIMARY KEY CHECK (idx >= 0),
    leaf        BYTEA  NOT NULL,
    kind        TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    message_id  TEXT,
    participant TEXT,
    outcome     TEXT   NOT NULL
);
CREATE INDEX events_message_id ON events (message_id, idx);
CREATE INDEX events_participant ON events (participant, idx);
CREATE INDEX events_kind ON events (kind, idx);
CREATE INDEX events_outcome ON events (outcome, idx);
CREATE INDEX events_at ON events (at, idx);

-- Complete-subtree hashes of the RFC 9162 tree: (level, idx) covers leaves
-- [idx * 2^level, (idx + 1) * 2^level).
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx   BIGINT  NOT NULL,
    hash  BYTEA   NOT NULL,
    PRIMARY KEY (level, idx)
);

-- How many events are integrated into the tree (single row).
CREATE TABLE tree_head (
    id   INTEGER PRIMARY KEY CHECK (id = 0),
    size BIGINT  NOT NULL CHECK (size >= 0)
);
INSERT INTO tree_head (id, size) VALUES (0, 0);

CREATE TABLE checkpoints (
    tree_size BIGINT PRIMARY KEY,
    root      BYTEA  NOT NULL,
    note      BYTEA  NOT NULL,
    signed_at BIGINT NOT NULL
);

CREATE TABLE bodies (
    sha256     TEXT COLLATE "C" PRIMARY KEY,
    body       BYTEA,                       -- NULL once erased
    media_type TEXT   NOT NULL,
    stored_at  BIGINT NOT NULL,
    erased_at  BIGINT
);
CREATE INDEX bodies_unerased ON bodies (stored_at) WHERE body IS NOT NULL;

-- Replay protection (RFC 9421 nonce), shared by every worker: the primary key refuses a
-- nonce another worker recorded, in the same transaction as the message.
CREATE TABLE nonces (
    keyid      TEXT   NOT NULL,
    nonce      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (keyid, nonce)
);
CREATE INDEX nonces_expires_at ON nonces (expires_at);

-- received_index is written in the final, locked step of the commit (once indices are
-- known); its foreign key is checked at COMMIT.
CREATE TABLE messages (
    sender         TEXT   NOT NULL,
    message_id     TEXT   NOT NULL,
    body_sha256    TEXT   NOT NULL REFERENCES bodies (sha256),
    kind           TEXT   NOT NULL,
    notice_key     TEXT   NOT NULL,
    received_at    BIGINT NOT NULL,
    outcome        BYTEA  NOT NULL,
    received_index BIGINT NOT NULL REFERENCES events (idx) DEFERRABLE INITIALLY DEFERRED,
    keyid          TEXT   NOT NULL,
    signature      TEXT   NOT NULL,
    PRIMARY KEY (sender, message_id)
);
CREATE INDEX messages_message_id ON messages (message_id, received_index);
CREATE INDEX messages_notice_key ON messages (notice_key);

CREATE TABLE deliveries (
    delivery_id          TEXT    COLLATE "C" PRIMARY KEY,
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
    next_attempt_at      BIGINT,
    last_status          INTEGER,
    last_error           TEXT,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    losses               BYTEA   NOT NULL,
    lease_owner          TEXT,              -- the worker holding it, until lease_until
    lease_until          BIGINT,
    FOREIGN KEY (sender, message_id) REFERENCES messages (sender, message_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, delivery_id) WHERE state = 'pending';
CREATE INDEX deliveries_state ON deliveries (state, delivery_id);
CREATE INDEX deliveries_message_id ON deliveries (message_id);
CREATE INDEX deliveries_notice_key ON deliveries (notice_key, recipient);
CREATE INDEX deliveries_body ON deliveries (body_sha256) WHERE state = 'pending';

CREATE TABLE attempts (
    delivery_id      TEXT    NOT NULL REFERENCES deliveries (delivery_id),
    attempt          INTEGER NOT NULL,
    at               BIGINT  NOT NULL,
    status_code      INTEGER,
    error            TEXT,
    duration_ms      DOUBLE PRECISION NOT NULL,
    answer           BYTEA,
    answer_signature TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

-- A notice's identifiers on each side; `seq` keeps "the first reference per system wins".
CREATE TABLE notice_references (
    system     TEXT   NOT NULL,
    reference  TEXT   NOT NULL,
    notice_key TEXT   NOT NULL,
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (system, reference)
);
CREATE INDEX notice_references_notice_key ON notice_references (notice_key, seq);

-- The inbound request beside its audit event (docs/replay.md).
CREATE TABLE requests (
    event_idx   BIGINT PRIMARY KEY REFERENCES events (idx),
    method      TEXT   NOT NULL,
    authority   TEXT   NOT NULL,
    path        TEXT   NOT NULL,
    headers     BYTEA  NOT NULL,
    body_sha256 TEXT
);
