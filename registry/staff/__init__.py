"""Staff accounts (outreach, ministry, admin), sign-in and role checks."""
