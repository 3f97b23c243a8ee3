"""Insights: version comparison and trends, unusual hours, failure patterns."""
