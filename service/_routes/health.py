"""``GET /healthz``: liveness, without authentication."""

from __future__ import annotations

from fastapi import APIRouter

from service._schemas import HealthPublic
from squatsense import __version__

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The service is up")
async def healthz() -> HealthPublic:
    """Answers 200 while the service runs; needs no token."""
    return HealthPublic(status="ok", version=__version__)
