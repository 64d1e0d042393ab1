"""Repositories: every query lives here."""
