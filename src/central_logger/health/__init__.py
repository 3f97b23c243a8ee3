"""Liveness and database reachability, for load balancers and `make run`."""
