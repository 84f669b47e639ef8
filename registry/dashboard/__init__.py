"""The ministry dashboard and the public statistics page."""
