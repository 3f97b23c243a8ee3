"""What an operator watches: Prometheus metrics (`metrics.py`, served by `router.py`),
the service's JSON logs (`logging.py`) and the request id that ties a user's error to
them (`request_id.py`, bound per request by `middleware.py`)."""
