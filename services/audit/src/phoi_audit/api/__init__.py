"""HTTP API of the audit service (/api/v1)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
