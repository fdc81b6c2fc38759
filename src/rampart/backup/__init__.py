"""Encrypted, checksummed backups of the store, and restores that prove themselves.

``archive`` is the file format, ``sqlite_dump``/``pg_dump`` take consistent snapshots,
``create`` makes, lists and prunes backups, ``restore`` verifies, restores and drills,
``scheduled`` is the service's job.
"""
