"""Application services: load, apply the domain's rules, call Keycloak, save, publish events."""
