"""API keys, the principal they stand for, and the authentication dependency."""
