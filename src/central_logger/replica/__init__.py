"""Reads on a streaming replica (DATABASE_READ_URL): service.py says which reads and when."""
