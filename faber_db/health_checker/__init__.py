"""Health checker: `faber-db health` (checks.py, health.py) and schema drift (drift.py)."""
