"""``GET /api/profiles``: the simulated athletes a ``simulated`` source can play.

The web page's profile picker reads it (the same list as ``squatsense simulate
--list-profiles``).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from service._routes._common import AUTH_RESPONSES
from service.deps import Authorized
from simulator import list_profiles

router = APIRouter(prefix="/api", tags=["profiles"], dependencies=[Authorized])


class ProfilePublic(BaseModel):
    """One simulated athlete."""

    name: str = Field(description="The value of a simulated source's `profile`.")
    description: str = Field(description="What the athlete does, in one or two sentences.")


class ProfileListPublic(BaseModel):
    """``GET /api/profiles``: in the simulator's order (``default`` first)."""

    profiles: list[ProfilePublic]


@router.get("/profiles", summary="Simulated athlete profiles", responses=AUTH_RESPONSES)
async def get_profiles() -> ProfileListPublic:
    """Every profile a ``{"kind": "simulated"}`` source accepts, with what it shows."""
    return ProfileListPublic(
        profiles=[ProfilePublic(name=k, description=v) for k, v in list_profiles().items()]
    )
