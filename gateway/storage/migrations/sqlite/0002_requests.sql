-- The inbound request beside its audit event (docs/replay.md): what a replay needs and the
-- leaf does not carry. One row per "received" or "refused" event of POST /v1/messages; the
-- leaf stays small (digests only) and these rows follow the bodies' retention.
CREATE TABLE requests (
    event_idx   INTEGER PRIMARY KEY REFERENCES events (idx),  -- the received / refused event
    method      TEXT    NOT NULL,
    authority   TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    headers     BLOB    NOT NULL,   -- JSON object: the signature-relevant fields as received
    body_sha256 TEXT                -- the body kept in `bodies`; NULL when none was kept
);
