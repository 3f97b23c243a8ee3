"""Database access: the engine, the embedded server, the schema and its migrations.

Where the schema lives: tables and indexes in `tables.py`; functions, triggers and
row-level security policies as named `.sql` files in `sql/` (`definitions.py`);
`migrations/` records how a database got there. tests/api/test_schema_source.py fails
when a migrated database and that source disagree. docs/data-layer.md explains it.

How SQL is written, one rule: SQLAlchemy Core against `tables.py`, in a domain's
`repository.py`. The exceptions are the hot paths whose speed is measured in
docs/performance.md ("Design choices the figures rest on"): the list pages and their
counts, the metrics reads and the ingest insert. Those build their statement as text
with every value bound (`driver.BoundValues`) and run it on the driver's own cursor
(`driver.fetch_rows`), and each says so in a comment. Anything else written as text
says why Core cannot express it (a utility statement such as VACUUM, a loose index
scan), never "because it was shorter".
"""
