"""The health-checker skill: schema drift (drift.py) and health checks."""
