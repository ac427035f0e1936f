"""The routers, one per resource; :mod:`service._app` mounts them in this order."""

from service._routes.athletes import router as athletes
from service._routes.health import router as health
from service._routes.live import router as live
from service._routes.metrics import router as metrics
from service._routes.sessions import router as sessions

ROUTERS = (health, sessions, live, athletes, metrics)

__all__ = ["ROUTERS"]
