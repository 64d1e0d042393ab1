"""Shared pytest fixtures for every test folder (real PostgreSQL, broker and Keycloak stand-in; Chromium)."""

pytest_plugins = ["phoi_local.testing", "phoi_local.browser", "phoi_local.system"]
