"""The identity domain: plain Python rules (no FastAPI, no SQLAlchemy, no I/O)."""
