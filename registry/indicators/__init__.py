"""The ministry's annual indicators, shown beside the registry's own counts."""
