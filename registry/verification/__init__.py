"""Certificates anyone can check: a verification id per registration, tokens that carry it
under a MAC (keys.py), and the public answer (services.py)."""
