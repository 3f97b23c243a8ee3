"""OpenTelemetry in: OTLP/HTTP traces become workflow logs (docs/ingest.md has the
attribute convention)."""
