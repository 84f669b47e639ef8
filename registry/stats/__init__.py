"""Counting registrations: the stats command now, the dashboard and API later."""
