"""HTTP API of the inventory service (/api/v1)."""

from phoi_inventory.api.routes import router

__all__ = ["router"]
