"""The personal record export: what the registry holds about one person, as JSON and PDF."""
