"""Staff accounts after sign-in: one's own (password, recovery codes) and, for admins, everyone's
(reset a password or the authenticator app, disable, enable)."""
