"""HTTP API of the audit service (/api/v1)."""

from phoi_audit.api.routes import router

__all__ = ["router"]
