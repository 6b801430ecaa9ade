"""SQLite schema migrations: NNNN_name.sql, applied in order (sqlite_migrations)."""
