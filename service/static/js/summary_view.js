// The session summary as a page section: advice, facts, per-set trend charts, left
// against right, and the per-rep table. Used by the summary page (/sessions/{id}) and by
// the one-file report (`squatsense report`), so both show the same thing.
//
// Module rules: see format.js (the report inlines this file).

import { appendAll, el, fmt, fmtSigned, fmtDate, fmtDuration, cueLabel, mean, repCues, REP_COLUMNS } from "./format.js";
import { lineChart, pairBars } from "./charts.js";

// Trend call-outs: a slope this steep over a set is worth a sentence (deg/rep), and an
// ascent this much slower than the set's fastest is the usual point to end a set
// (about 20 % velocity loss; docs: DOMAIN.md, "Fatigue").
const KNEE_TREND_DEG_PER_REP = 0.5;
const WINK_TREND_DEG_PER_REP = 0.5;
const DEPTH_TREND_DEG_PER_REP = -0.5;
const SLOWDOWN_FRACTION = 0.25;
// A left/right difference this large (deg) is called out as asymmetry.
const ASYMMETRY_DEG = 3;

/** What each per-set chart shows, and which cue codes ring a rep on it. */
const SET_CHARTS = [
  {
    title: "Depth (mean shin angle, °)",
    series: [{ key: "depth_deg", label: "depth" }],
    cues: ["butt_wink"],
    trend: ["depth_deg"],
    onsetRef: true,
  },
  { title: "Butt wink (°)", series: [{ key: "butt_wink_deg", label: "butt wink" }], cues: ["butt_wink"], trend: ["butt_wink_deg"] },
  {
    title: "Knee in at the bottom (°)",
    series: [
      { key: "knee_in_left_deg", label: "left", side: "left", cues: ["knee_in_left"] },
      { key: "knee_in_right_deg", label: "right", side: "right", cues: ["knee_in_right"] },
    ],
    cues: [],
    trend: ["knee_in_left_deg", "knee_in_right_deg"],
  },
  {
    title: "Ankle: shin forward, max (°)",
    series: [
      { key: "ankle_df_left_deg", label: "left", side: "left", cues: ["ankle_limited_left"] },
      { key: "ankle_df_right_deg", label: "right", side: "right", cues: ["ankle_limited_right"] },
    ],
    cues: [],
    trend: [],
  },
  {
    title: "Pelvic tilt, max (°)",
    series: [{ key: "pelvic_tilt_max_deg", label: "pelvic tilt" }],
    cues: ["forward_lean"],
    trend: ["pelvic_tilt_max_deg"],
  },
  {
    title: "Lumbar flexion, max (°)",
    series: [{ key: "lumbar_flexion_max_deg", label: "lumbar flexion" }],
    cues: ["butt_wink"],
    trend: [],
    lumbar: true,
  },
  {
    title: "Time down and up (s)",
    series: [
      { key: "eccentric_s", label: "down", side: "left", cues: ["fast_descent"] },
      { key: "concentric_s", label: "up", side: "right", cues: ["fatigue"] },
    ],
    cues: [],
    trend: ["concentric_s"],
    digits: 1,
  },
];

const TREND_NAMES = {
  depth_deg: ["depth", "°"],
  butt_wink_deg: ["butt wink", "°"],
  knee_in_left_deg: ["left", "°"],
  knee_in_right_deg: ["right", "°"],
  pelvic_tilt_max_deg: ["tilt", "°"],
  concentric_s: ["up", " s"],
};

function trendNote(set, keys) {
  const parts = [];
  for (const key of keys) {
    const slope = set.trends ? set.trends[key] : null;
    if (typeof slope === "number" && Number.isFinite(slope)) {
      const [name, unit] = TREND_NAMES[key];
      parts.push(`${name} ${fmtSigned(slope, unit === " s" ? 2 : 1)}${unit}/rep`);
    }
  }
  return parts.length ? `Trend: ${parts.join(", ")}` : "";
}

/** Sentences about what changed within a set (fatigue, growing knee-in, ...). */
export function setFlags(set) {
  const flags = [];
  const t = set.trends || {};
  const slow = set.concentric_slowdown;
  if (typeof slow === "number" && slow >= SLOWDOWN_FRACTION) {
    flags.push(`Fatigue: the last ascent was ${Math.round(slow * 100)} % slower than the set's fastest.`);
  }
  for (const [key, side] of [
    ["knee_in_left_deg", "Left"],
    ["knee_in_right_deg", "Right"],
  ]) {
    if (typeof t[key] === "number" && t[key] >= KNEE_TREND_DEG_PER_REP) {
      flags.push(`${side} knee caves in more with each rep (${fmtSigned(t[key])}° per rep).`);
    }
  }
  if (typeof t.butt_wink_deg === "number" && t.butt_wink_deg >= WINK_TREND_DEG_PER_REP) {
    flags.push(`Butt wink grows through the set (${fmtSigned(t.butt_wink_deg)}° per rep).`);
  }
  if (typeof t.depth_deg === "number" && t.depth_deg <= DEPTH_TREND_DEG_PER_REP) {
    flags.push(`Squats get shallower through the set (${fmtSigned(t.depth_deg)}° per rep).`);
  }
  return flags;
}

function faultsText(faults) {
  const entries = Object.entries(faults || {});
  if (!entries.length) return "No cues in this set.";
  return (
    "Cues: " +
    entries.map(([code, reps]) => `${cueLabel(code)} (rep${reps.length > 1 ? "s" : ""} ${reps.join(", ")})`).join("; ") +
    "."
  );
}

function asymmetrySentence(diff, what, lessMore) {
  if (typeof diff !== "number" || !Number.isFinite(diff)) return `${what}: not measured.`;
  if (Math.abs(diff) < ASYMMETRY_DEG) {
    return `${what}: even (left and right within ${ASYMMETRY_DEG}°; left − right ${fmtSigned(diff)}°).`;
  }
  const side = diff > 0 ? "left" : "right";
  const other = diff > 0 ? "right" : "left";
  return `${what}: the ${side} side ${lessMore} ${fmt(Math.abs(diff))}° more than the ${other}.`;
}

function renderSet(set, reps, summary) {
  const setReps = reps.filter((r) => r.set === set.set);
  const labels = setReps.map((r) => String(r.rep));
  const charts = el("div", { class: "charts" });
  for (const chart of SET_CHARTS) {
    if (chart.lumbar && !summary.has_lumbar) continue;
    const ringed = (codes) => new Set(setReps.flatMap((r, i) => (repCues(r).some((c) => codes.includes(c)) ? [i] : [])));
    const refs = [];
    if (chart.onsetRef && typeof summary.butt_wink_onset_depth_deg === "number") {
      refs.push({ y: summary.butt_wink_onset_depth_deg, label: "butt-wink onset depth" });
    }
    charts.append(
      lineChart({
        title: chart.title,
        xLabels: labels,
        series: chart.series.map((s) => ({
          label: s.label,
          side: s.side,
          values: setReps.map((r) => r[s.key]),
          faults: s.cues ? ringed(s.cues) : null,
        })),
        faults: ringed(chart.cues),
        refs,
        note: trendNote(set, chart.trend),
        digits: chart.digits || 0,
      }),
    );
  }
  const flags = setFlags(set);
  return el(
    "section",
    { class: "set", "aria-labelledby": `set-${set.set}-title` },
    el(
      "h3",
      { id: `set-${set.set}-title` },
      `Set ${set.set}: ${set.reps} rep${set.reps === 1 ? "" : "s"}, ${fmt(set.t_start_s, 0)}–${fmt(set.t_end_s, 0)} s`,
    ),
    el("p", {}, faultsText(set.faults)),
    flags.length ? el("ul", { class: "flags" }, flags.map((f) => el("li", {}, f))) : null,
    charts,
  );
}

/** The per-rep table (the reps.csv columns), rows with a cue highlighted. */
export function repsTable(reps) {
  const head = el(
    "tr",
    {},
    REP_COLUMNS.map((c) => el("th", { scope: "col", class: c.text ? "text" : null }, c.label)),
  );
  const body = el("tbody");
  for (const r of reps) {
    const cues = repCues(r);
    const row = el("tr", { class: cues.length ? "fault" : null, dataset: { set: r.set, rep: r.rep } });
    for (const c of REP_COLUMNS) {
      let text;
      if (c.key === "cues") text = cues.map(cueLabel).join(", ");
      else if (c.key === "has_gap") text = r.has_gap ? "yes" : "";
      else if (c.key === "set" || c.key === "rep") text = String(r[c.key]);
      else text = fmt(r[c.key], c.digits === undefined ? 1 : c.digits);
      row.append(el(c.key === "set" ? "th" : "td", { class: c.text ? "text" : null, scope: c.key === "set" ? "row" : null }, text));
    }
    body.append(row);
  }
  return el(
    "div",
    { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Every rep (scrolls sideways)" },
    el(
      "table",
      { class: "reps-table" },
      el("caption", { class: "visually-hidden" }, "Every rep: the reps.csv columns; rows with a cue are highlighted"),
      el("thead", {}, head),
      body,
    ),
  );
}

/**
 * Render a session's summary into `root` (emptied first).
 *
 * @param {HTMLElement} root
 * @param {object} data
 * @param {object} data.session - id, athlete, state, created_at, duration_s, reason
 * @param {object} data.summary - the API's Summary
 * @param {object[]} data.reps - reps.csv rows (parseCsv)
 * @param {object} [options]
 * @param {string} [options.athleteHref] - link to the athlete's history
 * @param {string} [options.liveHref] - link to the live page (running sessions)
 * @param {HTMLElement} [options.downloads] - the download buttons (pages only)
 */
export function renderSummary(root, data, options = {}) {
  const { session, summary, reps } = data;
  root.replaceChildren();
  const athlete = options.athleteHref ? el("a", { href: options.athleteHref }, session.athlete) : session.athlete;
  appendAll(root, [
    el("h1", {}, athlete, ` · ${fmtDate(session.created_at)}`),
    el(
      "p",
      { class: "summary-head" },
      el("span", { class: "badge" }, session.state),
      el("span", {}, `${summary.reps} reps in ${summary.sets.length} set${summary.sets.length === 1 ? "" : "s"}`),
      el("span", {}, `session time ${fmtDuration(session.duration_s)}`),
      session.reason ? el("span", { class: "muted" }, session.reason) : null,
    ),
  ]);
  if (!summary.final) {
    root.append(
      el(
        "p",
        { class: "panel" },
        "The session is still running: this is the summary so far. ",
        options.liveHref ? el("a", { href: options.liveHref }, "Watch it live") : null,
      ),
    );
  }

  const faultCount = Object.values(summary.faults || {}).reduce((n, list) => n + list.length, 0);
  const asym = summary.asymmetry || {};
  const facts = [
    ["Reps", String(summary.reps)],
    ["Sets", String(summary.sets.length)],
    ["Cues", String(faultCount)],
    [
      "Butt-wink onset depth",
      typeof summary.butt_wink_onset_depth_deg === "number" ? `${fmt(summary.butt_wink_onset_depth_deg, 0)}° shin` : "not seen",
    ],
    ["Ankle L − R", `${fmtSigned(asym.ankle_df_left_minus_right_deg)}°`],
    ["Knee in L − R", `${fmtSigned(asym.knee_in_left_minus_right_deg)}°`],
  ];
  root.append(
    el(
      "dl",
      { class: "facts" },
      facts.map(([k, v]) => el("div", { class: "fact" }, el("dt", {}, k), el("dd", {}, v))),
    ),
  );

  appendAll(root, [
    el("h2", { id: "next-steps" }, "What to work on"),
    el("ol", { class: "advice" }, (summary.advice || []).map((a) => el("li", {}, a))),
    (summary.notes || []).length ? el("ul", { class: "notes muted" }, summary.notes.map((n) => el("li", {}, n))) : null,
    el("p", { class: "disclaimer", role: "note" }, summary.disclaimer),
  ]);
  if (options.downloads) root.append(el("h2", {}, "Downloads"), options.downloads);

  root.append(el("h2", { id: "sets" }, "Sets: each metric across the reps"));
  if (!summary.sets.length) root.append(el("p", {}, "No reps were recognised."));
  for (const set of summary.sets) root.append(renderSet(set, reps, summary));

  root.append(
    el("h2", { id: "left-right" }, "Left and right"),
    el("p", {}, asymmetrySentence(asym.ankle_df_left_minus_right_deg, "Ankles (how far each shin travels forward)", "travels")),
    el("p", {}, asymmetrySentence(asym.knee_in_left_minus_right_deg, "Knees (caving in at the bottom)", "caves in")),
    el(
      "div",
      { class: "charts" },
      pairBars("Mean over all reps (°)", [
        {
          label: "Ankle max",
          left: mean(reps.map((r) => r.ankle_df_left_deg)),
          right: mean(reps.map((r) => r.ankle_df_right_deg)),
          unit: "°",
        },
        {
          label: "Knee in",
          left: mean(reps.map((r) => r.knee_in_left_deg)),
          right: mean(reps.map((r) => r.knee_in_right_deg)),
          unit: "°",
        },
      ]),
    ),
  );

  root.append(el("h2", { id: "reps" }, "Every rep"), repsTable(reps));
}
