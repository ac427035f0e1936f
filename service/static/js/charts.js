// Small static SVG charts for the summary, the report and the athlete history.
//
// Each chart is a <figure> holding an <svg role="img"> with a <title> that says what it
// shows, and a caption with a legend in words; the numbers themselves are in the
// tables next to the charts. Colours come from the stylesheet (classes), so the same
// chart works in the light pages and in the one-file report.
//
// Module rules: see format.js (the report inlines this file).

import { el, fmt } from "./format.js";

const SVG_NS = "http://www.w3.org/2000/svg";
let chartCounter = 0;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function niceRange(values, refs) {
  const all = values.concat(refs).filter((v) => typeof v === "number" && Number.isFinite(v));
  if (!all.length) return [0, 1];
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-9) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

/**
 * A line chart of values per item (rep or session).
 *
 * @param {object} spec
 * @param {string} spec.title - what is shown, with its unit
 * @param {string[]} spec.xLabels - one label per item (rep numbers, dates)
 * @param {{label: string, values: (number|null)[], side?: "left"|"right"|"one", faults?: Set<number>}[]} spec.series
 *   - a series' own `faults` (item indices to ring: faulty reps) replace the chart's
 * @param {Set<number>} [spec.faults] - item indices to ring on every series
 * @param {{y: number, label: string}[]} [spec.refs] - horizontal reference lines
 * @param {string} [spec.note] - one line under the title (a trend)
 * @param {number} [spec.digits] - decimals of the axis labels
 * @returns {HTMLElement} a <figure>
 */
export function lineChart(spec) {
  const width = 320;
  const height = 170;
  const m = { left: 40, right: 10, top: 10, bottom: 26 };
  const n = spec.xLabels.length;
  const refs = spec.refs || [];
  const faults = spec.faults || new Set();
  const values = spec.series.flatMap((s) => s.values);
  const [lo, hi] = niceRange(values, refs.map((r) => r.y));
  // Enough decimals that the three axis labels differ.
  const span = hi - lo;
  const digits = Math.max(spec.digits || 0, span < 0.4 ? 2 : span < 4 ? 1 : 0);
  const x = (i) => m.left + (n <= 1 ? (width - m.left - m.right) / 2 : (i * (width - m.left - m.right)) / (n - 1));
  const y = (v) => m.top + ((hi - v) * (height - m.top - m.bottom)) / (hi - lo);

  const id = `chart-${++chartCounter}`;
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": `${id}-title`,
    preserveAspectRatio: "xMidYMid meet",
  });
  root.append(svg("title", { id: `${id}-title` }, spec.title));

  for (const frac of [0, 0.5, 1]) {
    const v = lo + (hi - lo) * frac;
    root.append(svg("line", { class: "grid", x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }));
    root.append(svg("text", { x: m.left - 4, y: y(v) + 4, "text-anchor": "end" }, fmt(v, digits)));
  }
  root.append(svg("line", { class: "axis", x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom }));
  root.append(
    svg("line", { class: "axis", x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom }),
  );
  const step = Math.max(1, Math.ceil(n / 8));
  spec.xLabels.forEach((label, i) => {
    if (i % step === 0 || i === n - 1) {
      root.append(svg("text", { x: x(i), y: height - m.bottom + 15, "text-anchor": "middle" }, label));
    }
  });
  for (const ref of refs) {
    if (!Number.isFinite(ref.y)) continue;
    root.append(svg("line", { class: "ref-line", x1: m.left, x2: width - m.right, y1: y(ref.y), y2: y(ref.y) }));
  }

  for (const s of spec.series) {
    const side = s.side || "one";
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (typeof v !== "number" || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    if (d) root.append(svg("path", { class: `line-${side}`, d }));
    s.values.forEach((v, i) => {
      if (typeof v !== "number" || !Number.isFinite(v)) return;
      root.append(svg("circle", { class: `dot-${side}`, cx: x(i), cy: y(v), r: 2.6 }));
      if ((s.faults || faults).has(i)) root.append(svg("circle", { class: "fault-ring", cx: x(i), cy: y(v), r: 5.5 }));
    });
  }

  const legend = el("div", { class: "legend" });
  if (spec.series.length > 1) {
    for (const s of spec.series) {
      legend.append(el("span", {}, el("span", { class: `swatch ${s.side || "one"}`, "aria-hidden": "true" }), s.label));
    }
  }
  if (faults.size || spec.series.some((s) => s.faults && s.faults.size)) {
    legend.append(el("span", {}, el("span", { class: "swatch fault", "aria-hidden": "true" }), "rep with a cue"));
  }
  for (const ref of refs) {
    if (Number.isFinite(ref.y)) {
      legend.append(el("span", {}, el("span", { class: "swatch ref", "aria-hidden": "true" }), ref.label));
    }
  }
  return el(
    "figure",
    { class: "chart" },
    root,
    el(
      "figcaption",
      {},
      el("div", { class: "chart-title" }, spec.title),
      spec.note ? el("div", { class: "muted" }, spec.note) : null,
      legend.childNodes.length ? legend : null,
    ),
  );
}

/**
 * Left against right, one pair of horizontal bars per row.
 *
 * @param {string} title
 * @param {{label: string, left: number|null, right: number|null, unit: string}[]} rows
 * @returns {HTMLElement} a <figure>
 */
export function pairBars(title, rows) {
  const width = 320;
  const rowH = 46;
  const labelW = 92;
  const height = rows.length * rowH + 8;
  const top = Math.max(1, ...rows.flatMap((r) => [Math.abs(r.left || 0), Math.abs(r.right || 0)]));
  const w = (v) => ((width - labelW - 46) * Math.abs(v || 0)) / top;
  const id = `chart-${++chartCounter}`;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${id}-title` });
  root.append(svg("title", { id: `${id}-title` }, title));
  rows.forEach((r, k) => {
    const y0 = 4 + k * rowH;
    root.append(svg("text", { x: 0, y: y0 + 17 }, r.label));
    root.append(svg("rect", { class: "bar-left", x: labelW, y: y0 + 4, width: w(r.left), height: 16 }));
    root.append(svg("text", { x: labelW + w(r.left) + 4, y: y0 + 17 }, `L ${fmt(r.left)}${r.unit}`));
    root.append(svg("rect", { class: "bar-right", x: labelW, y: y0 + 23, width: w(r.right), height: 16 }));
    root.append(svg("text", { x: labelW + w(r.right) + 4, y: y0 + 36 }, `R ${fmt(r.right)}${r.unit}`));
  });
  const legend = el(
    "div",
    { class: "legend" },
    el("span", {}, el("span", { class: "swatch left", "aria-hidden": "true" }), "left"),
    el("span", {}, el("span", { class: "swatch right", "aria-hidden": "true" }), "right"),
  );
  return el("figure", { class: "chart" }, root, el("figcaption", {}, el("div", { class: "chart-title" }, title), legend));
}
