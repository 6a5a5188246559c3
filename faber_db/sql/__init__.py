"""SQL text without a server: splitting scripts into statements, and which statements
must run outside a transaction."""
