"""Workflow logs: ingestion, listing and detail."""
