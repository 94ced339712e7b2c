"""Stage 3, the index: chunks, the SQLite store (its format, writing, reading, checks), encoder files."""
