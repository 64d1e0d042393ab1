"""HTTP API of the identity service (/api/v1)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
