"""Storage adapter: SQLAlchemy tables, Alembic migrations, a batched event writer and reads.

``open_database`` gives a migrated engine, ``StoreWriter`` persists the engine's domain events
in all-or-nothing batches together with a restart checkpoint, ``queries`` reads them back.
"""
