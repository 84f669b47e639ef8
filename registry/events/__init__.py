"""The one event log: security and audit events, append-only, read by admins only."""
