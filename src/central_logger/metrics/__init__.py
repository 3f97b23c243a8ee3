"""Aggregates over workflow logs: the overview and the category breakdown."""
