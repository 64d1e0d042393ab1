"""Repositories: every query of the audit service lives here."""
