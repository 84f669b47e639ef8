"""Self-service change requests: a worker who proved who they are asks for a change of their
registration (or withdraws consent); staff of their province approve or reject it."""
