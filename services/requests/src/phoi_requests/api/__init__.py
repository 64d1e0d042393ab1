"""HTTP API of the requests service (/api/v1)."""

from phoi_requests.api.routes import router

__all__ = ["router"]
