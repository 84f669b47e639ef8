"""Self-registration by workers, the confirmation, the certificate and the status lookup."""
