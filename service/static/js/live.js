// The live page (/sessions/{id}/live): what an athlete props up next to the rack.
//
// One WebSocket (`/api/sessions/{id}/live?token=`) feeds a LiveModel; the page draws
// the rep counter, the current cue (spoken aloud unless muted), a short cue history,
// live traces and the sensors. A dropped connection is retried with backoff; the
// server's snapshot on every (re)connect brings back what was missed, and the model's
// keys make sure nothing is shown twice. Rates, loss and battery are polled over HTTP.

import { el, fmt, cueLabel, placementLabel } from "./format.js";
import { ApiError, AuthError, NetworkError, api, idFromPath, liveSocketUrl } from "./api.js";
import { describeError, pageMessage, setupPage, withToken } from "./common.js";
import { LiveModel, cueKey } from "./livestate.js";
import { StripChart } from "./strip.js";

const SOUND_KEY = "squatsense.sound";
const HISTORY_SHOWN = 8;
const BACKOFF_S = [0.5, 1, 2, 4, 8];
const POLL_MS = 2000;
const BACK_BANNER_MS = 6000;
const WINDOW_S = 10;

const TRACES = [
  {
    id: "pelvis",
    title: "Pelvic tilt and lumbar flexion (°)",
    series: [
      { key: "pelvic_tilt_deg", label: "pelvic tilt", color: "--accent", swatch: "one" },
      { key: "lumbar_flexion_deg", label: "lumbar flexion", color: "--right", dash: [7, 4], swatch: "right", lumbar: true },
    ],
  },
  {
    id: "ankles",
    title: "Ankles: shin forward (°)",
    series: [
      { key: "ankle_df_left_deg", label: "left", color: "--left", swatch: "left" },
      { key: "ankle_df_right_deg", label: "right", color: "--right", dash: [7, 4], swatch: "right" },
    ],
  },
  {
    id: "knees",
    title: "Knee in (°)",
    series: [
      { key: "knee_in_left_deg", label: "left", color: "--left", swatch: "left" },
      { key: "knee_in_right_deg", label: "right", color: "--right", dash: [7, 4], swatch: "right" },
    ],
  },
];

const $ = (id) => document.getElementById(id);

class LivePage {
  constructor(sessionId) {
    this.id = sessionId;
    this.model = new LiveModel();
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = 0;
    this.charts = [];
    this.ankles = null;
    this.outstanding = 0;
    this.backTimers = new Map();
    this.stopArmed = 0;
    this.sound = localStorage.getItem(SOUND_KEY) !== "off";
    this.stopped = false;
  }

  async start() {
    $("summary-link").href = `/sessions/${encodeURIComponent(this.id)}`;
    $("summary-button").href = `/sessions/${encodeURIComponent(this.id)}`;
    this.renderSound();
    $("sound").addEventListener("click", () => this.toggleSound());
    $("stop").addEventListener("click", () => this.onStop());
    // HTTP first: it answers 401 and 404 plainly, where a refused WebSocket only fails.
    let session;
    try {
      session = await withToken(() => api(`/api/sessions/${encodeURIComponent(this.id)}`));
    } catch (err) {
      pageMessage(err instanceof ApiError && err.status === 404 ? `There is no session ${this.id}.` : describeError(err));
      this.setConn("ended", "Not connected");
      $("stop").disabled = true;
      return;
    }
    this.model.placements = session.placements;
    this.model.state = session.state;
    $("who").textContent = session.athlete;
    document.title = `squatsense · ${session.athlete} · live`;
    this.model.applyCounters(session.sensors);
    this.buildTraces(session.placements);
    this.renderSensors();
    this.connect();
    this.poll();
    window.addEventListener("online", () => this.retryNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.retryNow();
    });
  }

  // ---------------------------------------------------------------- connection

  setConn(kind, text) {
    const conn = $("conn");
    conn.className = `conn ${kind}`;
    conn.textContent = text;
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = 0;
    this.setConn("wait", this.attempt ? `Reconnecting (attempt ${this.attempt})…` : "Connecting…");
    const ws = new WebSocket(liveSocketUrl(this.id));
    this.ws = ws;
    let opened = false;
    ws.addEventListener("open", () => {
      opened = true;
    });
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(message);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws === ws) this.ws = null;
      this.onClose(event, opened);
    });
  }

  retryNow() {
    if (this.retryTimer && !this.ws && !this.model.ended) this.connect();
  }

  async onClose(event, opened) {
    if (this.model.ended || event.code === 1000) {
      await this.refreshSession();
      this.showEnded();
      return;
    }
    if (event.code === 4410) {
      this.setConn("ended", "Session deleted");
      pageMessage("This session was deleted.");
      return;
    }
    if (!opened) {
      // Refused on the handshake (token, unknown session) or no network: ask HTTP which.
      try {
        await withToken(() => api(`/api/sessions/${encodeURIComponent(this.id)}`));
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          this.setConn("ended", "Not connected");
          pageMessage(`There is no session ${this.id}.`);
          return;
        }
        if (!(err instanceof NetworkError)) pageMessage(describeError(err));
      }
    }
    const base = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)];
    const delay = base * (0.8 + 0.4 * Math.random());
    this.attempt += 1;
    this.setConn("wait", `Connection lost: reconnecting in ${delay.toFixed(1)} s`);
    this.retryTimer = setTimeout(() => this.connect(), delay * 1000);
  }

  async refreshSession() {
    try {
      const session = await api(`/api/sessions/${encodeURIComponent(this.id)}`);
      this.model.state = session.state;
      this.model.reason = session.reason;
      this.model.applyCounters(session.sensors);
      this.renderSensors();
      return session;
    } catch (err) {
      if (err instanceof AuthError) pageMessage(describeError(err));
      return null;
    }
  }

  async poll() {
    while (!this.model.ended) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (document.visibilityState === "hidden") continue;
      await this.refreshSession();
    }
  }

  // ---------------------------------------------------------------- messages

  onMessage(message) {
    if (message.type === "status" && message.event === "snapshot") {
      this.attempt = 0;
      pageMessage("");
      this.setConn("ok", "Live");
    }
    let countersChanged = false;
    let cuesChanged = false;
    let latestCue = null;
    for (const e of this.model.apply(message)) {
      switch (e.kind) {
        case "snapshot":
          countersChanged = true;
          cuesChanged = true;
          this.renderSensors();
          if (!latestCue) {
            const cues = this.model.cueList;
            if (cues.length) latestCue = { cue: cues[cues.length - 1], fresh: false };
          }
          break;
        case "rep":
          countersChanged = true;
          if (e.fresh && !e.rep.cues.length) this.showGoodRep(e.rep);
          break;
        case "cue":
          cuesChanged = true;
          latestCue = e;
          break;
        case "cancelled":
          countersChanged = true;
          cuesChanged = true;
          break;
        case "angles":
          for (const chart of this.charts) chart.push(e.angles.time_s, e.angles);
          break;
        case "dropped":
          this.bannerDropped(e.sensor);
          this.renderSensors();
          break;
        case "back":
          this.bannerBack(e.sensor);
          this.renderSensors();
          break;
        case "sensor":
          this.renderSensors();
          break;
        case "status":
          if (!this.model.cues.size && !this.model.reps.size) this.showStatus();
          countersChanged = true;
          break;
        default:
          break;
      }
    }
    if (countersChanged) this.renderCounters();
    if (cuesChanged) this.renderHistory();
    if (latestCue) {
      this.showCue(latestCue.cue);
      if (latestCue.fresh) this.speak(latestCue.cue.text);
    }
    if (this.ankles) {
      const onset = this.model.onsetDepthDeg;
      this.ankles.setRef("onset", onset, `butt-wink onset ${fmt(onset, 0)}°`);
    }
    if (this.model.ended) this.showEnded();
  }

  // ---------------------------------------------------------------- drawing

  renderCounters() {
    $("set-value").textContent = String(this.model.currentSet);
    $("rep-value").textContent = String(this.model.repsInSet);
    const n = this.model.reps.size;
    $("rep-total").textContent = `${n} rep${n === 1 ? "" : "s"} in all`;
  }

  showStatus() {
    const box = $("cue");
    box.className = "cue";
    if (this.model.calibrated) {
      $("cue-text").textContent = "Ready: squat as usual";
      $("cue-meta").textContent = this.model.statusDetail;
    } else {
      $("cue-text").textContent = "Stand still for a moment";
      $("cue-meta").textContent = this.model.statusDetail || "then squat as usual";
    }
  }

  showCue(cue) {
    const box = $("cue");
    box.className = `cue ${cue.severity === "warning" ? "warning" : "info"}`;
    $("cue-text").textContent = cue.text;
    $("cue-meta").textContent = `${cue.severity === "warning" ? "Warning" : "Tip"}: ${cueLabel(cue.code)} · set ${cue.set}, rep ${cue.rep}`;
  }

  showGoodRep(rep) {
    const box = $("cue");
    box.className = "cue";
    $("cue-text").textContent = "Good rep";
    $("cue-meta").textContent = `set ${rep.set}, rep ${rep.rep}: depth ${fmt(rep.depth_deg, 0)}°`;
  }

  renderHistory() {
    const cues = this.model.cueList.slice(-HISTORY_SHOWN).reverse();
    $("history-empty").hidden = cues.length > 0;
    $("cue-history").replaceChildren(
      ...cues.map((c) =>
        el(
          "li",
          { class: c.severity === "warning" ? "warning" : "info", dataset: { key: cueKey(c) } },
          el("span", { class: "sev" }, c.severity === "warning" ? "Warning" : "Tip"),
          el("span", { class: "when" }, `set ${c.set}, rep ${c.rep}`),
          el("span", { class: "text" }, c.text),
        ),
      ),
    );
    $("history-title").textContent = `Recent cues (${this.model.cues.size} in all)`;
  }

  buildTraces(placements) {
    const host = $("traces");
    host.replaceChildren();
    const hasLumbar = placements.includes("lumbar");
    for (const spec of TRACES) {
      const series = spec.series.filter((s) => !s.lumbar || hasLumbar);
      const title = spec.id === "pelvis" && !hasLumbar ? "Pelvic tilt (°)" : spec.title;
      const names = series.map((s) => s.label).join(", ");
      const canvas = el("canvas", { role: "img", "aria-label": `${title}: ${names}, the last ${WINDOW_S} s` });
      const legend = el(
        "div",
        { class: "legend" },
        series.map((s) => el("span", {}, el("span", { class: `swatch ${s.swatch}`, "aria-hidden": "true" }), s.label)),
        spec.id === "ankles" ? el("span", {}, el("span", { class: "swatch ref", "aria-hidden": "true" }), "butt-wink onset depth") : null,
      );
      host.append(el("div", { class: "trace", id: `trace-${spec.id}` }, el("h3", {}, title), canvas, legend));
      const chart = new StripChart(canvas, { series, windowS: WINDOW_S, minSpanDeg: spec.id === "knees" ? 10 : 20 });
      this.charts.push(chart);
      if (spec.id === "ankles") this.ankles = chart;
    }
    window.addEventListener("resize", () => this.charts.forEach((c) => c.requestDraw()));
  }

  renderSensors() {
    const names = new Set([...this.model.placements, ...this.model.sensors.keys()]);
    const rows = [];
    for (const p of names) {
      const s = this.model.sensors.get(p) || { placement: p };
      let state;
      if (this.model.ended) state = el("span", { class: "muted" }, "Ended");
      else if (s.connected) state = el("span", { class: "state-ok" }, "Connected");
      else if (s.dropped) state = el("span", { class: "state-bad" }, "Dropped");
      else state = el("span", { class: "state-wait" }, "Waiting");
      rows.push(
        el(
          "tr",
          { dataset: { placement: p } },
          el("th", { scope: "row" }, placementLabel(p)),
          el("td", {}, state),
          el("td", {}, typeof s.rate_hz === "number" ? `${fmt(s.rate_hz, 0)} Hz` : "–"),
          el("td", {}, typeof s.loss_ratio === "number" ? `${fmt(s.loss_ratio * 100, 1)} %` : "–"),
          el("td", {}, typeof s.battery_pct === "number" ? `${s.battery_pct} %` : "–"),
        ),
      );
    }
    $("sensor-rows").replaceChildren(...rows);
  }

  bannerDropped(sensor) {
    const id = `banner-${sensor.placement}`;
    const old = document.getElementById(id);
    if (old) old.remove();
    clearTimeout(this.backTimers.get(sensor.placement));
    $("banners").append(
      el(
        "div",
        { class: "banner drop", id, role: "alert" },
        `${placementLabel(sensor.placement)} sensor dropped out. Check its strap and battery; it reconnects by itself.`,
      ),
    );
  }

  bannerBack(sensor) {
    const id = `banner-${sensor.placement}`;
    const old = document.getElementById(id);
    if (old) old.remove();
    const banner = el("div", { class: "banner back", id }, `${placementLabel(sensor.placement)} sensor is back.`);
    $("banners").append(banner);
    this.backTimers.set(
      sensor.placement,
      setTimeout(() => banner.remove(), BACK_BANNER_MS),
    );
  }

  showEnded() {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.setConn("ended", "Session ended");
    $("stop").disabled = true;
    $("stop").textContent = "Stopped";
    $("ended").hidden = false;
    const n = this.model.reps.size;
    const why = this.model.reason ? ` (${this.model.reason})` : "";
    $("ended-text").textContent = `${this.model.state}${why}: ${n} rep${n === 1 ? "" : "s"}, ${this.model.cues.size} cue${this.model.cues.size === 1 ? "" : "s"}.`;
    for (const banner of document.querySelectorAll(".banner.drop")) banner.remove();
    this.renderSensors();
  }

  // ---------------------------------------------------------------- sound, stop

  renderSound() {
    const button = $("sound");
    button.textContent = this.sound ? "Sound on" : "Sound off";
    button.setAttribute("aria-pressed", this.sound ? "true" : "false");
  }

  toggleSound() {
    this.sound = !this.sound;
    localStorage.setItem(SOUND_KEY, this.sound ? "on" : "off");
    this.renderSound();
    if (this.sound) this.speak("Sound on");
    else if ("speechSynthesis" in window) window.speechSynthesis.cancel();
  }

  speak(text) {
    if (!this.sound || !("speechSynthesis" in window)) return;
    const synth = window.speechSynthesis;
    // Cues that pile up (two on one rep, a fast replay) must not lag behind the squat.
    if (this.outstanding >= 2) {
      synth.cancel();
      this.outstanding = 0;
    }
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = "en-US";
    const done = (event) => {
      this.outstanding = Math.max(0, this.outstanding - 1);
      if (event && event.error === "not-allowed") {
        pageMessage("The browser blocked speech: tap “Sound on” once to let this page speak the cues.");
      }
    };
    utterance.addEventListener("end", done);
    utterance.addEventListener("error", done);
    this.outstanding += 1;
    synth.speak(utterance);
  }

  async onStop() {
    const button = $("stop");
    if (!this.stopArmed) {
      button.textContent = "Tap again to stop";
      this.stopArmed = setTimeout(() => {
        this.stopArmed = 0;
        if (!button.disabled) button.textContent = "Stop session";
      }, 4000);
      return;
    }
    clearTimeout(this.stopArmed);
    this.stopArmed = 0;
    button.disabled = true;
    button.textContent = "Stopping…";
    try {
      const session = await withToken(() => api(`/api/sessions/${encodeURIComponent(this.id)}/stop`, { method: "POST" }));
      this.model.state = session.state;
      this.model.reason = session.reason;
      this.showEnded();
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        await this.refreshSession();
        this.showEnded();
        return;
      }
      pageMessage(describeError(err));
      button.disabled = false;
      button.textContent = "Stop session";
    }
  }
}

setupPage();
const page = new LivePage(idFromPath("sessions"));
window.squatsenseLive = page; // for the browser tests and for debugging
page.start();
