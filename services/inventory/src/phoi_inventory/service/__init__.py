"""Application services: load, call the domain, save, publish events."""
