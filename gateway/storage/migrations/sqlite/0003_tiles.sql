-- Tiles of the RFC 9162 tree (docs/storage.md, "Tiles"): for every complete subtree of
-- 2^8 leaves (tier 0) and of 2^16 leaves (tier 1), the 8 levels of nodes below its root
-- in one row, so an inclusion proof reads one row per 8 levels instead of one per level.
-- They repeat rows of `nodes` (which stays the reference): id = tier << 40 | index, where
-- the subtree is node (8 * (tier + 1), index); hashes = the nodes of its levels 8 * tier
-- up to 8 * tier + 7, level by level, left to right: 256 + 128 + ... + 2 = 510 hashes.
-- The writer adds a tile in the transaction that stores its subtree's root node; the
-- storage builds the tiles of a database written before this migration when it opens it.
CREATE TABLE tiles (
    id     INTEGER PRIMARY KEY,
    hashes BLOB    NOT NULL
);
