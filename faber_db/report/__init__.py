"""`faber-db report`: one self-contained HTML page of a project's history (backups,
restores and rollbacks, migrations and who approved them, health, drift and the
audit chain), for the team and its auditors."""

from faber_db.report.build import write_report

__all__ = ["write_report"]
