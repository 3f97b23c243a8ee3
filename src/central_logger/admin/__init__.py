"""Key administration for the dashboard: create, list, revoke, rotate."""
