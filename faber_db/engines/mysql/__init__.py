"""MySQL/MariaDB: the engine, its restorer, the swap journal and object recreation."""
