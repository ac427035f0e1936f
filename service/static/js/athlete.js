// An athlete's history (/athletes/{id}): every session over time with its key metrics,
// from the coach CSV (every rep of every session) and the session list.

import { el, fmt, fmtSigned, fmtDate, mean, median, parseCsv, repCues } from "./format.js";
import { api, apiText, download, idFromPath } from "./api.js";
import { describeError, pageMessage, setupPage, withToken } from "./common.js";
import { lineChart } from "./charts.js";

const $ = (id) => document.getElementById(id);

/** Key metrics of one session from its reps (coach CSV rows). */
function sessionMetrics(reps) {
  const withCue = reps.filter((r) => repCues(r).length > 0);
  const winks = reps.filter((r) => repCues(r).includes("butt_wink"));
  return {
    reps: reps.length,
    sets: reps.reduce((m, r) => Math.max(m, r.set || 0), 0),
    faultShare: reps.length ? (100 * withCue.length) / reps.length : NaN,
    depth: mean(reps.map((r) => r.depth_deg)),
    buttWink: mean(reps.map((r) => r.butt_wink_deg)),
    onset: median(winks.map((r) => r.butt_wink_onset_depth_deg)),
    kneeLeft: mean(reps.map((r) => r.knee_in_left_deg)),
    kneeRight: mean(reps.map((r) => r.knee_in_right_deg)),
    ankleDiff: mean(reps.map((r) => (r.ankle_df_left_deg ?? NaN) - (r.ankle_df_right_deg ?? NaN))),
    up: mean(reps.map((r) => r.concentric_s)),
  };
}

const COLUMNS = [
  ["#", (s) => String(s.number)],
  ["Date", (s) => el("a", { href: `/sessions/${encodeURIComponent(s.id)}` }, fmtDate(s.created_at))],
  ["State", (s) => s.state],
  ["Reps", (s) => String(s.m.reps)],
  ["Sets", (s) => String(s.m.sets)],
  ["Reps with a cue", (s) => `${fmt(s.m.faultShare, 0)} %`],
  ["Depth (°)", (s) => fmt(s.m.depth)],
  ["Butt wink (°)", (s) => fmt(s.m.buttWink)],
  ["Butt-wink onset (°)", (s) => fmt(s.m.onset)],
  ["Knee in L (°)", (s) => fmt(s.m.kneeLeft)],
  ["Knee in R (°)", (s) => fmt(s.m.kneeRight)],
  ["Ankle L − R (°)", (s) => fmtSigned(s.m.ankleDiff)],
  ["Up (s)", (s) => fmt(s.m.up, 2)],
];

async function load(athleteId) {
  const { athletes } = await api("/api/athletes");
  const athlete = athletes.find((a) => String(a.id) === athleteId);
  if (!athlete) {
    pageMessage(`There is no athlete ${athleteId}.`);
    return;
  }
  const [list, csv] = await Promise.all([
    api(`/api/sessions?athlete=${encodeURIComponent(athlete.name)}`),
    apiText(`/api/athletes/${athlete.id}/reps.csv`),
  ]);
  const bySession = new Map();
  for (const row of parseCsv(csv).rows) {
    if (!bySession.has(row.session_id)) bySession.set(row.session_id, []);
    bySession.get(row.session_id).push(row);
  }
  // Oldest first for the charts, numbered; the table shows the newest first.
  const sessions = [...list.sessions].reverse().map((s, k) => ({ ...s, number: k + 1, m: sessionMetrics(bySession.get(s.id) || []) }));
  const labels = sessions.map((s) => `#${s.number}`);
  const series = (label, pick, side) => ({ label, side, values: sessions.map((s) => pick(s.m)) });

  const status = el("p", { class: "muted", role: "status" });
  const root = $("athlete");
  root.replaceChildren(
    el("h1", {}, athlete.name),
    el("p", {}, `${sessions.length} session${sessions.length === 1 ? "" : "s"} since ${fmtDate(athlete.created_at)}.`),
    el(
      "div",
      { class: "downloads" },
      el(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: async () => {
            try {
              status.textContent = `Saved ${await withToken(() => download(`/api/athletes/${athlete.id}/reps.csv`, "athlete-reps.csv"))}.`;
            } catch (err) {
              pageMessage(`Download failed: ${describeError(err)}`);
            }
          },
        },
        `Download all of ${athlete.name}'s reps (CSV)`,
      ),
    ),
    status,
    el("h2", {}, "Over time (sessions oldest first)"),
    el(
      "div",
      { class: "charts" },
      lineChart({ title: "Depth, mean shin angle (°)", xLabels: labels, series: [series("depth", (m) => m.depth)] }),
      lineChart({ title: "Butt wink, mean (°)", xLabels: labels, series: [series("butt wink", (m) => m.buttWink)] }),
      lineChart({
        title: "Knee in at the bottom, mean (°)",
        xLabels: labels,
        series: [series("left", (m) => m.kneeLeft, "left"), series("right", (m) => m.kneeRight, "right")],
      }),
      lineChart({ title: "Ankle asymmetry, left − right (°)", xLabels: labels, series: [series("L − R", (m) => m.ankleDiff)], refs: [{ y: 0, label: "even" }] }),
      lineChart({ title: "Ascent time, mean (s)", xLabels: labels, series: [series("up", (m) => m.up)], digits: 2 }),
      lineChart({ title: "Reps with a cue (%)", xLabels: labels, series: [series("share", (m) => m.faultShare)] }),
    ),
    el("h2", {}, "Sessions"),
    el(
      "div",
      { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Sessions (scrolls sideways)" },
      el(
        "table",
        { class: "sessions-table" },
        el("thead", {}, el("tr", {}, COLUMNS.map(([label]) => el("th", { scope: "col" }, label)))),
        el(
          "tbody",
          {},
          [...sessions].reverse().map((s) => el("tr", { dataset: { session: s.id } }, COLUMNS.map(([, cell]) => el("td", {}, cell(s))))),
        ),
      ),
    ),
  );
  root.removeAttribute("aria-busy");
  document.title = `squatsense · ${athlete.name}`;
}

setupPage();
withToken(() => load(idFromPath("athletes"))).catch((err) => pageMessage(describeError(err)));
