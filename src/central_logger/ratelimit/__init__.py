"""Per-key ingestion budgets: requests and logs per second, with burst."""
