"""python -m faber_db"""

from faber_db.cli import entry_point

entry_point()
