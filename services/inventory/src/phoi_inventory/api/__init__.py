"""HTTP API of the inventory service (/api/v1)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
