// What the live page knows about a session, built from the live WebSocket's messages.
//
// No DOM here: `apply(message)` updates the model and returns what is new, so the page
// can draw it (and speak fresh cues). Reps and cues are keyed, so a snapshot after a
// reconnect (which repeats everything so far) adds only what was missed during the
// blip and repeats nothing.

/** Key of a rep: its set and number. */
export function repKey(rep) {
  return `${rep.set}:${rep.rep}`;
}

/** Key of a cue: code, set, rep and the sample time that triggered it. */
export function cueKey(cue) {
  return `${cue.code}:${cue.set}:${cue.rep}:${cue.t_s}`;
}

const ENDED = new Set(["finished", "failed", "interrupted"]);

export class LiveModel {
  constructor() {
    this.reps = new Map();
    this.cues = new Map();
    /** placement → {connected, dropped, message, rate_hz, loss_ratio, battery_pct, ...} */
    this.sensors = new Map();
    this.placements = [];
    this.state = "starting";
    this.reason = "";
    this.athlete = "";
    this.calibrated = false;
    this.set = 0;
    this.statusDetail = "";
    this.snapshots = 0;
    this.tS = 0;
    this.onsetDepths = new Map();
  }

  get ended() {
    return ENDED.has(this.state);
  }

  /** The set shown: the newest of the status's, the last rep's and the last bottom's. */
  get currentSet() {
    let set = this.set;
    for (const r of this.reps.values()) set = Math.max(set, r.set);
    return set;
  }

  /** Reps completed in the current set. */
  get repsInSet() {
    const set = this.currentSet;
    let n = 0;
    for (const r of this.reps.values()) if (r.set === set) n += 1;
    return n;
  }

  /** Cues, oldest first. */
  get cueList() {
    return [...this.cues.values()].sort((a, b) => a.t_s - b.t_s);
  }

  /** The butt-wink onset depth so far (median over butt-wink cues, shin angle), or NaN. */
  get onsetDepthDeg() {
    const values = [...this.onsetDepths.values()].filter(Number.isFinite).sort((a, b) => a - b);
    if (!values.length) return NaN;
    const mid = Math.floor(values.length / 2);
    return values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  }

  _status(m) {
    if (m.state) this.state = m.state;
    if (typeof m.reason === "string") this.reason = m.reason;
    if (typeof m.set === "number") this.set = Math.max(this.set, m.set);
    if (typeof m.calibrated === "boolean") this.calibrated = m.calibrated;
    if (typeof m.t_s === "number") this.tS = Math.max(this.tS, m.t_s);
  }

  _addRep(rep) {
    const key = repKey(rep);
    if (this.reps.has(key)) return false;
    this.reps.set(key, rep);
    return true;
  }

  _addCue(cue) {
    const key = cueKey(cue);
    if (this.cues.has(key)) return false;
    this.cues.set(key, cue);
    if (cue.code === "butt_wink" && typeof cue.onset_depth_deg === "number") {
      this.onsetDepths.set(key, cue.onset_depth_deg);
    }
    return true;
  }

  _sensor(placement, fields) {
    const old = this.sensors.get(placement) || { placement, connected: false, dropped: false };
    const next = { ...old, ...fields };
    this.sensors.set(placement, next);
    return next;
  }

  /**
   * Sensors of a snapshot: their counters and whether they are connected. A sensor that
   * had delivered samples and is not connected while the session runs has dropped.
   */
  applySensors(list) {
    const events = [];
    const running = this.state === "running";
    for (const s of list || []) {
      const old = this.sensors.get(s.placement);
      const wasDropped = Boolean(old && old.dropped);
      const nowDropped = running && !s.connected && s.samples > 0;
      const next = this._sensor(s.placement, { ...s, dropped: nowDropped || (wasDropped && !s.connected) });
      if (nowDropped && !wasDropped) events.push({ kind: "dropped", sensor: next });
      else if (s.connected && wasDropped) events.push({ kind: "back", sensor: next });
    }
    return events;
  }

  /**
   * Counters from the REST API (polled): rate, loss, battery. Whether a sensor is
   * connected comes from the live messages only, which are newer than any poll.
   */
  applyCounters(list) {
    for (const s of list || []) {
      const counters = { ...s };
      if (this.sensors.has(s.placement)) delete counters.connected;
      this._sensor(s.placement, counters);
    }
  }

  /**
   * Take one live message; return what is new:
   * `{kind: "snapshot"|"rep"|"cue"|"bottom"|"angles"|"status"|"dropped"|"back"|"sensor", ...}`.
   * Cues from a snapshot come with `fresh: false` (they happened before this client
   * was listening: shown, not spoken).
   */
  apply(m) {
    const events = [];
    switch (m.type) {
      case "status": {
        this._status(m);
        if (m.event === "snapshot") {
          this.snapshots += 1;
          if (m.athlete) this.athlete = m.athlete;
          if (Array.isArray(m.placements)) this.placements = m.placements;
          for (const r of m.reps || []) if (this._addRep(r)) events.push({ kind: "rep", rep: r, fresh: false });
          for (const c of m.cues || []) if (this._addCue(c)) events.push({ kind: "cue", cue: c, fresh: false });
          events.push(...this.applySensors(m.sensors));
          events.push({ kind: "snapshot" });
        } else {
          if (m.detail) this.statusDetail = m.detail;
          events.push({ kind: "status", event: m.event, detail: m.detail || "" });
        }
        break;
      }
      case "rep":
        if (this._addRep(m)) events.push({ kind: "rep", rep: m, fresh: true });
        break;
      case "cue":
        if (this._addCue(m)) events.push({ kind: "cue", cue: m, fresh: true });
        break;
      case "bottom":
        if (typeof m.set === "number") this.set = Math.max(this.set, m.set);
        events.push({ kind: "bottom", bottom: m });
        break;
      case "rep_cancelled":
        // Not a rep after all: its cues go, and so does the set its bottom opened (the
        // next rep takes its set and rep numbers).
        for (const [key, cue] of this.cues) {
          if (cue.set === m.set && cue.rep === m.rep && cue.t_s <= m.t_s) {
            this.cues.delete(key);
            this.onsetDepths.delete(key);
          }
        }
        this.set = 0;
        for (const r of this.reps.values()) this.set = Math.max(this.set, r.set);
        events.push({ kind: "cancelled", cancelled: m });
        break;
      case "angles":
        if (m.time_s && m.time_s.length) this.tS = Math.max(this.tS, m.time_s[m.time_s.length - 1]);
        events.push({ kind: "angles", angles: m });
        break;
      case "sensor": {
        const p = m.placement;
        if (!p) break;
        const old = this.sensors.get(p);
        if (m.kind === "disconnected") {
          const s = this._sensor(p, { connected: false, dropped: true, message: m.message });
          events.push({ kind: "dropped", sensor: s });
        } else if (m.kind === "reconnecting" || m.kind === "connecting") {
          const s = this._sensor(p, { connected: false, message: m.message });
          events.push({ kind: "sensor", sensor: s });
        } else if (m.kind === "connected") {
          const wasDropped = Boolean(old && old.dropped);
          const s = this._sensor(p, { connected: true, dropped: false, message: m.message });
          events.push({ kind: wasDropped ? "back" : "sensor", sensor: s });
        } else if (m.kind === "battery" && typeof m.value === "number") {
          events.push({ kind: "sensor", sensor: this._sensor(p, { battery_pct: m.value }) });
        } else if (m.kind === "warning" || m.kind === "info") {
          events.push({ kind: "sensor", sensor: this._sensor(p, { message: m.message }) });
        }
        break;
      }
      default:
        break;
    }
    return events;
  }
}
