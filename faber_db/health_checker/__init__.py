"""The health-checker skill: `faber-db health` (checks.py, health.py) and schema drift (drift.py)."""
