"""``GET /api/metrics``: the live path's latency and counters."""

from __future__ import annotations

from fastapi import APIRouter

from service._routes._common import AUTH_RESPONSES
from service._schemas import LatencyPublic, MetricsPublic
from service.deps import Authorized, ManagerDep, MetricsDep, StoreDep

router = APIRouter(prefix="/api", tags=["metrics"], dependencies=[Authorized])


@router.get("/metrics", summary="Live-path latency and counters", responses=AUTH_RESPONSES)
async def get_metrics(metrics: MetricsDep, manager: ManagerDep, store: StoreDep) -> MetricsPublic:
    """Latency and counters of the live path since the server started.

    Latency per live message type (frame in → message out) and per stage, processing
    time per step, and what was sent and dropped.
    """
    return MetricsPublic(
        sessions_live=manager.live_count,
        clients=metrics.clients,
        latency={k: LatencyPublic(**w.summary()) for k, w in metrics.latency.items()},
        stages={k: LatencyPublic(**w.summary()) for k, w in metrics.stages.items()},
        processing=LatencyPublic(**metrics.processing.summary()),
        messages_sent=metrics.messages_sent,
        angle_frames_dropped=metrics.angle_frames_dropped,
        clients_closed_slow=metrics.clients_closed_slow,
        store_write_errors=store.write_errors,
    )
