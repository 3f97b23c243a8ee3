"""Retention: how long each tenant's logs and rollups are kept, and the run that lets
older data go (docs/retention.md)."""
