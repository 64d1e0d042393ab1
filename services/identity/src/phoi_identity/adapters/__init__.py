"""Adapters: the repositories (every SQL query lives here) and the Keycloak client."""
