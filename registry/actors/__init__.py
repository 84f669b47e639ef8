"""Informal economy actors: the registration record, its rules and its storage."""
