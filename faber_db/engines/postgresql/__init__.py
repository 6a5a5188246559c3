"""PostgreSQL: the engine (connection, introspection, locks) and its restorer."""
