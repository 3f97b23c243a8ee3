"""Database access: the engine, the embedded server, the tables and their migrations."""
