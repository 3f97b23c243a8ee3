"""The audit trail: failed authentications, key changes, admin cross-tenant reads."""
