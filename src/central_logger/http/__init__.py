"""What every router shares: the error shape, request bodies, dependencies, the dashboard."""
