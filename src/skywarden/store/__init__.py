"""The record: an append-only journal (SQLite by default, PostgreSQL by URL), replay and reports."""
