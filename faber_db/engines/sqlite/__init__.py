"""SQLite: the engine (a file) and its restorer."""
