"""faber-db: safe schema migrations, verified backups and atomic rollback."""

__version__ = "0.1.0"
