// Formatting, labels, a DOM builder and a CSV reader, shared by every page and by the
// one-file report (`squatsense report`).
//
// All text reaches the page through `textContent` (see `el`), never through HTML
// parsing, so an athlete's name or a cue text cannot inject markup.
//
// Module rules (the report inlines this file): imports on one line each, in the form
// `import { a, b } from "./x.js";`, and only `export function`, `export const` or
// `export class` at the top level.

/** What each cue code means, for people. */
export const CUE_LABELS = {
  butt_wink: "Butt wink",
  knee_in_left: "Left knee in",
  knee_in_right: "Right knee in",
  ankle_limited_left: "Stiff left ankle",
  ankle_limited_right: "Stiff right ankle",
  forward_lean: "Forward tilt",
  fast_descent: "Fast descent",
  fatigue: "Fatigue",
};

/** The sensors, for people. */
export const PLACEMENT_LABELS = {
  sacrum: "Sacrum",
  lumbar: "Lower back (L1)",
  shin_left: "Left shin",
  shin_right: "Right shin",
};

/** The reps.csv columns (docs/api.md), with a short header for the table. */
export const REP_COLUMNS = [
  { key: "set", label: "Set" },
  { key: "rep", label: "Rep" },
  { key: "t_start_s", label: "Start (s)", digits: 2 },
  { key: "t_bottom_s", label: "Bottom (s)", digits: 2 },
  { key: "t_end_s", label: "End (s)", digits: 2 },
  { key: "eccentric_s", label: "Down (s)", digits: 2 },
  { key: "concentric_s", label: "Up (s)", digits: 2 },
  { key: "ankle_df_left_deg", label: "Ankle L (°)" },
  { key: "ankle_df_right_deg", label: "Ankle R (°)" },
  { key: "knee_in_left_deg", label: "Knee in L (°)" },
  { key: "knee_in_right_deg", label: "Knee in R (°)" },
  { key: "pelvic_tilt_max_deg", label: "Pelvic tilt max (°)" },
  { key: "butt_wink_deg", label: "Butt wink (°)" },
  { key: "lumbar_flexion_max_deg", label: "Lumbar flexion max (°)" },
  { key: "cues", label: "Cues", text: true },
  { key: "depth_deg", label: "Depth (°)" },
  { key: "butt_wink_onset_depth_deg", label: "Butt-wink onset depth (°)" },
  { key: "has_gap", label: "Sensor gap", text: true },
];

/** A number for people: fixed decimals, "–" when unknown. */
export function fmt(x, digits = 1) {
  if (x === null || x === undefined || typeof x !== "number" || !Number.isFinite(x)) {
    return "–";
  }
  const text = x.toFixed(digits);
  return Number(text) === 0 ? (0).toFixed(digits) : text; // no "-0.0"
}

/** A signed number ("+1.2", "−0.4"), "–" when unknown. */
export function fmtSigned(x, digits = 1) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  const text = Math.abs(x).toFixed(digits);
  if (Number(text) === 0) return text;
  return (x > 0 ? "+" : "−") + text;
}

export function cueLabel(code) {
  return CUE_LABELS[code] || String(code);
}

export function placementLabel(placement) {
  return PLACEMENT_LABELS[placement] || String(placement);
}

/** "21 Nov 2026, 19:12" in the browser's locale and time zone. */
export function fmtDate(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** "2 min 39 s" from seconds. */
export function fmtDuration(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "–";
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

/**
 * Build an element. `attrs`: `class`, `text` (textContent), `on<event>` handlers,
 * `dataset` (object), booleans (set when true), anything else as an attribute.
 * `children`: nodes or strings (strings become text nodes); null/false are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = String(value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  appendAll(node, children);
  return node;
}

/** Append nodes or strings (flattening arrays, skipping null/false). */
export function appendAll(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function csvCell(text) {
  if (text === "") return null;
  if (text === "true") return true;
  if (text === "false") return false;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number(text);
  return text;
}

/**
 * Read CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF) into
 * `{ columns, rows }`, each row an object. Empty cells are null, numbers are numbers,
 * "true"/"false" are booleans, anything else stays text.
 */
export function parseCsv(text) {
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const src = String(text || "");
  while (i < src.length) {
    const ch = src[i];
    if (quoted) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += ch;
      }
      i += 1;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === ",") {
      record.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && src[i + 1] === "\n") i += 1;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += ch;
    i += 1;
  }
  if (field !== "" || record.length) {
    record.push(field);
    records.push(record);
  }
  const columns = records.length ? records[0] : [];
  const rows = records.slice(1).map((values) => {
    const row = {};
    columns.forEach((c, k) => {
      row[c] = csvCell(values[k] === undefined ? "" : values[k]);
    });
    return row;
  });
  return { columns, rows };
}

/** Mean of the finite numbers (NaN when none). */
export function mean(values) {
  const ok = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
}

/** Largest finite number (NaN when none). */
export function max(values) {
  const ok = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  return ok.length ? Math.max(...ok) : NaN;
}

/** Median of the finite numbers (NaN when none). */
export function median(values) {
  const ok = values.filter((v) => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
  if (!ok.length) return NaN;
  const mid = Math.floor(ok.length / 2);
  return ok.length % 2 ? ok[mid] : (ok[mid - 1] + ok[mid]) / 2;
}

/** The cue codes of a rep row (reps.csv: space separated; live: a list). */
export function repCues(row) {
  const cues = row && row.cues;
  if (Array.isArray(cues)) return cues;
  if (typeof cues === "string" && cues.trim()) return cues.trim().split(/\s+/);
  return [];
}
