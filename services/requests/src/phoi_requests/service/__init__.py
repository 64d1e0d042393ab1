"""Application services: load the aggregate, call the domain, save, publish its events."""
