"""API tokens: how a program (the ministry's DHIS2, a statistics office script) reads the API."""
