"""Request and response bodies of the HTTP API, split by direction.

``*In`` / ``*Create``: what clients send (validated here, once: bad input is answered
with 422 and a body that names the field). ``*Public``: what the service answers.
WebSocket messages are documented in docs/api.md; they are built in
:mod:`service._messages`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# ------------------------------------------------------------------------------ inbound

#: 0 = as fast as possible, 1 = real time; finite.
Speed = Annotated[
    float,
    Field(
        ge=0,
        le=1000,
        allow_inf_nan=False,
        description="1 = real time, 2 = twice as fast, 0 = as fast as possible.",
    ),
]

#: Athlete names: what a coach types; leading/trailing blanks are dropped, no control
#: characters (tabs, line breaks) that would garble exports.
AthleteName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SimulatedSourceIn(_In):
    """Virtual sensors from the simulator, through the same decode path as real ones."""

    kind: Literal["simulated"]
    profile: str = Field(
        default="default",
        min_length=1,
        max_length=64,
        description="Athlete profile, as listed by `squatsense simulate --list-profiles`.",
    )
    speed: Speed = 1.0
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Simulation seed.")
    duration_s: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        allow_inf_nan=False,
        description="Stop after this much session time, s (default: the whole session).",
    )


class ReplaySourceIn(_In):
    """A recording CSV or a raw frame log (``.sslog``) on the server's disk, replayed."""

    kind: Literal["replay"]
    path: str = Field(min_length=1, max_length=4096, description="File path on the server.")
    speed: Speed = 1.0


class BleSourceIn(_In):
    """The paired BLE sensors (``squatsense pair``)."""

    kind: Literal["ble"]


class RelaySourceIn(_In):
    """Envelope records pushed by a remote ingester to ``WS /api/sessions/{id}/relay``."""

    kind: Literal["relay"]


SourceIn = Annotated[
    SimulatedSourceIn | ReplaySourceIn | BleSourceIn | RelaySourceIn,
    Field(discriminator="kind"),
]


class SessionCreate(_In):
    """``POST /api/sessions``."""

    athlete: AthleteName = Field(description="The athlete's name (created on first use).")
    source: SourceIn


# ----------------------------------------------------------------------------- outbound


class SessionState(StrEnum):
    """Life cycle of a session (legal transitions in :mod:`service._session`)."""

    #: Created; waiting for the first samples (simulating, connecting).
    STARTING = "starting"
    #: Samples are flowing.
    RUNNING = "running"
    #: A stop was requested; finishing the last rep and the summary.
    STOPPING = "stopping"
    #: Ended: stopped, or the source was exhausted (end of a replay or simulation).
    FINISHED = "finished"
    #: Ended by an error of the source (Bluetooth unavailable, unreadable file).
    FAILED = "failed"
    #: The server stopped during the session; found on restart, data kept.
    INTERRUPTED = "interrupted"


class SessionCreated(BaseModel):
    """``201`` answer to ``POST /api/sessions``."""

    id: str = Field(description="The session id, used in every other session URL.")


class SensorPublic(BaseModel):
    """One sensor's counters."""

    placement: str = Field(description="sacrum, lumbar, shin_left or shin_right.")
    connected: bool
    samples: int = Field(description="Samples received.")
    lost: int = Field(description="Samples lost on the radio link.")
    loss_ratio: float = Field(description="lost / (samples + lost).")
    rate_hz: float = Field(description="Samples per second over the last 2 s.")
    battery_pct: int | None
    reconnects: int
    outage_s: float = Field(description="Time spent disconnected, s.")


class SessionPublic(BaseModel):
    """A session: state, sensors, progress."""

    id: str
    athlete: str
    athlete_id: int
    state: SessionState
    reason: str = Field(description="Why the session ended (or failed); empty while running.")
    source: SourceIn
    created_at: datetime
    ended_at: datetime | None
    duration_s: float = Field(description="Session time covered by received samples, s.")
    placements: list[str] = Field(description="The sensors of the session.")
    sensors: list[SensorPublic]
    live: bool = Field(description="True while `/live` streams (starting, running, stopping).")
    calibrated: bool | None = Field(
        description="Angles flow (quiet standing and axes found); null once ended."
    )
    set: int = Field(description="Current (or last) set, 1-based; 0 before the first rep.")
    rep_count: int
    cue_count: int


class SessionListPublic(BaseModel):
    """``GET /api/sessions``: newest first."""

    sessions: list[SessionPublic]
    count: int


class SetSummaryPublic(BaseModel):
    """One set of a summary."""

    set: int
    reps: int
    t_start_s: float | None
    t_end_s: float | None
    faults: dict[str, list[int]] = Field(description="Cue code → reps (within the set).")
    trends: dict[str, float | None] = Field(description="Slope per rep of each metric.")
    concentric_slowdown: float | None = Field(
        description="Last rep's concentric time over the set's fastest, minus 1."
    )
    means: dict[str, float | None]


class SummaryPublic(BaseModel):
    """``GET /api/sessions/{id}/summary``: what was seen, and what to work on."""

    session_id: str
    athlete: str
    state: SessionState
    final: bool = Field(description="False while the session runs (the summary so far).")
    computed_from: Literal["live", "recovered"] = Field(
        description="live: from the session's reps; recovered: recomputed from the raw "
        "samples kept after an interruption."
    )
    reps: int
    sets: list[SetSummaryPublic]
    faults: dict[str, list[list[int]]] = Field(description="Cue code → [set, rep] pairs.")
    asymmetry: dict[str, float | None]
    butt_wink_onset_depth_deg: float | None
    reps_with_gaps: list[list[int]]
    advice: list[str]
    disclaimer: str
    has_lumbar: bool
    notes: list[str]


class AthletePublic(BaseModel):
    """An athlete."""

    id: int
    name: str
    created_at: datetime
    sessions: int


class AthleteListPublic(BaseModel):
    """``GET /api/athletes``: by name."""

    athletes: list[AthletePublic]


class LatencyPublic(BaseModel):
    """A latency distribution over the last (up to) 10 000 values, ms."""

    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class MetricsPublic(BaseModel):
    """``GET /api/metrics``: the live path's health since the server started."""

    sessions_live: int
    clients: int
    latency: dict[str, LatencyPublic] = Field(
        description="Per WebSocket message type: from the host time stamp of the oldest "
        "notification behind the message (frame in) to the message handed to the "
        "client's socket."
    )
    stages: dict[str, LatencyPublic] = Field(
        description="The same latency split into stages, all message types together: "
        "ingest (frame in to its decoded batch taken from the source), queue (to the "
        "processing step's start), processing (to the message's publication), send (to "
        "the client's socket)."
    )
    processing: LatencyPublic = Field(
        description="One processing step of a session: SessionProcessor.feed_batch of "
        "every sensor's samples queued since the last step."
    )
    messages_sent: int
    angle_frames_dropped: int
    clients_closed_slow: int
    store_write_errors: int


class HealthPublic(BaseModel):
    """``GET /healthz``."""

    status: Literal["ok"]
    version: str


class ErrorPublic(BaseModel):
    """Every 4xx/5xx answer."""

    error: str = Field(description="Stable snake_case name, e.g. session_not_found.")
    detail: str = Field(description="One line saying what was wrong.")
    key: str | None = Field(default=None, description="The offending source entry.")
    state: str | None = Field(default=None, description="The session's state (409).")
