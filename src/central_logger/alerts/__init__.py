"""Alerts: rules over the metrics, their state, and notifications (docs/alerts.md)."""
