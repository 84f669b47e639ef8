"""The duplicate review queue: pairs of registrations that may be one person, found by
blocking keys (registry.duplicates.blocking), reviewed by staff (merge, dismiss, defer)."""
