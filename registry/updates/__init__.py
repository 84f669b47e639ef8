"""The worker's own change requests (/update), over registry.change_requests."""
