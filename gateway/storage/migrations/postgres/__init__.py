"""PostgreSQL migrations (gateway/storage/postgres_migrations.py)."""
