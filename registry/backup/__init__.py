"""Backups that restore: `flask backup PATH` and `flask restore PATH` (README "Backups").

A backup is one tar file: `manifest.json` (what was written: the database's kind, its
Alembic revision, every table's row count, a digest of the tally, the payload's SHA-256)
then the payload, SQLite's online-backup copy gzipped or `pg_dump --format=custom`. The
keys in instance/ or the environment are never in it (kept apart, see the README).
"""
