// A scrolling strip chart on a <canvas> for the live traces: the last few seconds of
// session time, one line per series, optional horizontal reference lines. Drawn at most
// once per animation frame, whatever the message rate.

const GAP_S = 0.5; // a jump in time longer than this is drawn as a gap, not a line

function cssVar(node, name, fallback) {
  const value = getComputedStyle(node).getPropertyValue(name).trim();
  return value || fallback;
}

export class StripChart {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} spec
   * @param {{key: string, color: string, dash?: number[]}[]} spec.series - color: a CSS variable
   * @param {number} [spec.windowS] - seconds of session time shown
   * @param {number} [spec.minSpanDeg] - the y axis spans at least this much
   */
  constructor(canvas, spec) {
    this.canvas = canvas;
    this.series = spec.series;
    this.windowS = spec.windowS || 10;
    this.minSpan = spec.minSpanDeg || 20;
    this.t = [];
    this.v = Object.fromEntries(this.series.map((s) => [s.key, []]));
    this.refs = new Map();
    this.dirty = true;
    this.frame = 0;
  }

  /** Append samples: `time_s` and, per series key, a parallel list (null = unknown). */
  push(timeS, columns) {
    for (let i = 0; i < timeS.length; i += 1) {
      this.t.push(timeS[i]);
      for (const s of this.series) {
        const col = columns[s.key];
        const v = col ? col[i] : null;
        this.v[s.key].push(typeof v === "number" ? v : null);
      }
    }
    const last = this.t.length ? this.t[this.t.length - 1] : 0;
    let cut = 0;
    while (cut < this.t.length && this.t[cut] < last - this.windowS - 1) cut += 1;
    if (cut > 0) {
      this.t.splice(0, cut);
      for (const s of this.series) this.v[s.key].splice(0, cut);
    }
    this.requestDraw();
  }

  /** A dashed horizontal line at `y` (deg) with a label; NaN removes it. */
  setRef(name, y, label) {
    if (Number.isFinite(y)) this.refs.set(name, { y, label });
    else this.refs.delete(name);
    this.requestDraw();
  }

  requestDraw() {
    this.dirty = true;
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        if (this.dirty) this.draw();
      });
    }
  }

  draw() {
    this.dirty = false;
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const cssW = canvas.clientWidth || 300;
    const cssH = canvas.clientHeight || 120;
    if (canvas.width !== Math.round(cssW * ratio) || canvas.height !== Math.round(cssH * ratio)) {
      canvas.width = Math.round(cssW * ratio);
      canvas.height = Math.round(cssH * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);

    const left = 34;
    const right = 6;
    const top = 6;
    const bottom = 16;
    const tMax = this.t.length ? this.t[this.t.length - 1] : this.windowS;
    const tMin = tMax - this.windowS;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < this.t.length; i += 1) {
      if (this.t[i] < tMin) continue;
      for (const s of this.series) {
        const v = this.v[s.key][i];
        if (v !== null) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    for (const r of this.refs.values()) {
      lo = Math.min(lo, r.y);
      hi = Math.max(hi, r.y);
    }
    if (!Number.isFinite(lo)) {
      lo = -5;
      hi = 15;
    }
    if (hi - lo < this.minSpan) {
      const mid = (hi + lo) / 2;
      lo = mid - this.minSpan / 2;
      hi = mid + this.minSpan / 2;
    }
    const pad = (hi - lo) * 0.06;
    lo -= pad;
    hi += pad;
    const x = (t) => left + ((t - tMin) * (cssW - left - right)) / this.windowS;
    const y = (v) => top + ((hi - v) * (cssH - top - bottom)) / (hi - lo);

    const muted = cssVar(canvas, "--muted", "#888");
    const grid = cssVar(canvas, "--border", "#444");
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.setLineDash([]);
    const step = hi - lo > 60 ? 20 : hi - lo > 30 ? 10 : 5;
    for (let g = Math.ceil(lo / step) * step; g <= hi; g += step) {
      ctx.strokeStyle = g === 0 ? muted : grid;
      ctx.beginPath();
      ctx.moveTo(left, y(g));
      ctx.lineTo(cssW - right, y(g));
      ctx.stroke();
      ctx.fillStyle = muted;
      ctx.textAlign = "right";
      ctx.fillText(`${g}°`, left - 4, y(g) + 4);
    }
    ctx.textAlign = "left";
    ctx.fillText(`last ${this.windowS} s`, left + 2, cssH - 3);

    for (const r of this.refs.values()) {
      ctx.strokeStyle = cssVar(canvas, "--warning-bg", "#ffb020");
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(left, y(r.y));
      ctx.lineTo(cssW - right, y(r.y));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = cssVar(canvas, "--warning-bg", "#ffb020");
      ctx.textAlign = "right";
      ctx.fillText(r.label, cssW - right - 2, y(r.y) - 4);
    }

    for (const s of this.series) {
      const vals = this.v[s.key];
      ctx.strokeStyle = cssVar(canvas, s.color, "#fff");
      ctx.lineWidth = 2.5;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      let pen = false;
      let prevT = -Infinity;
      for (let i = 0; i < this.t.length; i += 1) {
        const t = this.t[i];
        const v = vals[i];
        if (t < tMin || v === null || t - prevT > GAP_S) pen = false;
        prevT = t;
        if (t < tMin || v === null) continue;
        if (pen) ctx.lineTo(x(t), y(v));
        else ctx.moveTo(x(t), y(v));
        pen = true;
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }
}
