"""Central Logger: self-hosted log collection and analytics for workflow monitoring."""

__version__ = "0.1.0"
