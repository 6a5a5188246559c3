"""The S3-compatible remote repository of backups (backup.remote in the config).

settings.py reads the config; client.py makes the boto3 client (imported lazily) and
turns its errors into RemoteFailedError; transfer.py streams one object up or down
with its sha256 checked; repository.py knows the layout of keys and the catalogue
entries stored beside the backups; publish.py uploads a new backup; fetch.py brings a
remote copy back for a restore; sync.py is `backups sync` (and removes the copies of
deleted backups); required.py is backup.remote.required, which migrate consults.
"""
