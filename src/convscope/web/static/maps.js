// GridMap: one 2-D grid of numbers drawn as coloured cells on a canvas. Every cell can be
// reached with the mouse or the keyboard (arrow keys move, Enter explains), and its number is
// shown in a readout beside it (and drawn in the cell when the cells are large enough).
import { diverging, el, fmt, gray, maxAbs } from "convscope/format.js";

const TARGET_PX = 112; // the side of a map on screen, roughly
const NUMBERS_PX = 28; // cells this large show their number

export class GridMap {
  /**
   * values: rows of numbers (H x W); name: how a cell is written ("conv1[2]" -> "conv1[2, i, j]");
   * scale: |value| shown at full colour (diverging) or "gray" for pixels 0..255;
   * onActivate(i, j): called on click / Enter (the map is then keyboard-operable).
   */
  constructor({ values, name, title, scale, onActivate, size = TARGET_PX, index, readout, under }) {
    this.under = under; // pixels 0..255 drawn in gray beneath the values (an overlay)
    this.values = values;
    this.h = values.length;
    this.w = values[0].length;
    this.name = name;
    this.index = index || ((i, j) => `${name}[${i}, ${j}]`);
    this.scale = scale === undefined ? maxAbs(values) : scale;
    this.onActivate = onActivate;
    this.px = Math.max(2, Math.min(40, Math.floor(size / Math.max(this.h, this.w))));
    this.marks = [];
    this.cursor = null;
    const help = onActivate ? " Arrow keys move between cells; Enter explains the cell." : " Arrow keys move between cells.";
    this.canvas = el("canvas", {
      width: this.w * this.px, height: this.h * this.px, tabindex: "0", class: onActivate ? "map active" : "map",
      "aria-label": `${title || name}: ${this.h} by ${this.w} grid.${help}`,
    });
    if (readout) { // a compact map: no caption, a readout shared with its neighbours
      this.readout = readout;
      this.element = this.canvas;
    } else {
      this.readout = el("span", { class: "readout", "aria-live": "polite", text: " " }); // not role=status: that is the prediction
      this.element = el("figure", { class: "gridmap" }, this.canvas,
        el("figcaption", { text: title || name }), this.readout);
      this.element.style.width = `${Math.max(this.w * this.px, 60)}px`; // a long readout wraps, the row stays put
    }
    this.canvas.addEventListener("mousemove", (e) => this.show(...this.at(e)));
    this.canvas.addEventListener("mouseleave", () => this.cursor ? this.show(...this.cursor) : (this.readout.textContent = " "));
    this.canvas.addEventListener("click", (e) => this.activate(...this.at(e)));
    this.canvas.addEventListener("keydown", (e) => this.key(e));
    this.canvas.addEventListener("focus", () => { if (!this.cursor) this.move(0, 0); else this.show(...this.cursor); });
    this.draw();
  }

  at(event) {
    const r = this.canvas.getBoundingClientRect();
    const i = Math.floor(((event.clientY - r.top) / r.height) * this.h);
    const j = Math.floor(((event.clientX - r.left) / r.width) * this.w);
    return [Math.max(0, Math.min(this.h - 1, i)), Math.max(0, Math.min(this.w - 1, j))];
  }

  show(i, j) {
    const v = this.values[i][j];
    this.readout.textContent = v === undefined ? " " : `${this.index(i, j)} = ${fmt(v)}`;
  }

  move(i, j) {
    this.cursor = [i, j];
    this.show(i, j);
    this.draw();
  }

  activate(i, j) {
    this.move(i, j);
    if (this.onActivate && this.values[i][j] !== undefined) this.onActivate(i, j);
  }

  key(e) {
    const [i, j] = this.cursor || [0, 0];
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (moves[e.key]) {
      const [di, dj] = moves[e.key];
      this.move(Math.max(0, Math.min(this.h - 1, i + di)), Math.max(0, Math.min(this.w - 1, j + dj)));
      e.preventDefault();
    } else if ((e.key === "Enter" || e.key === " ") && this.onActivate) {
      this.activate(i, j);
      e.preventDefault();
    }
  }

  /** Remove every outline (a no-op when there is none). */
  clear() {
    if (!this.marks.length) return;
    this.marks = [];
    this.draw();
  }

  /** Outline cells [[i, j], ...] in a style: "window", "route" or "chosen"; [] clears it. */
  mark(cells, style = "window") {
    this.marks = this.marks.filter((m) => m.style !== style);
    if (cells.length) this.marks.push({ cells, style });
    this.draw();
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    const px = this.px;
    for (let i = 0; i < this.h; i++) {
      for (let j = 0; j < this.w; j++) {
        const v = this.values[i][j];
        const [r, g, b] = v === undefined ? [238, 238, 238] : this.scale === "gray" ? gray(v) : diverging(v, this.scale);
        if (this.under) {
          const p = this.under[i][j];
          ctx.fillStyle = `rgb(${p},${p},${p})`;
          ctx.fillRect(j * px, i * px, px, px);
          const alpha = this.scale > 0 && v !== null ? Math.min(1, Math.abs(v) / this.scale) : 0;
          ctx.fillStyle = `rgba(${r},${g},${b},${0.15 + 0.85 * alpha})`;
        } else {
          ctx.fillStyle = `rgb(${r},${g},${b})`;
        }
        ctx.fillRect(j * px, i * px, px, px);
        if (px >= NUMBERS_PX && v !== undefined) {
          ctx.fillStyle = (r + g + b) / 3 < 110 ? "#fff" : "#000";
          ctx.font = `${Math.floor(px / 3.2)}px system-ui, sans-serif`;
          ctx.textAlign = "center";
          ctx.textBaseline = "middle";
          ctx.fillText(fmt(v), j * px + px / 2, i * px + px / 2, px - 2);
        }
      }
    }
    const colours = { window: "#f5a300", route: "#00a651", chosen: "#7b2cbf" };
    for (const { cells, style } of this.marks) {
      ctx.strokeStyle = colours[style];
      ctx.lineWidth = Math.max(1, Math.min(3, px / 4));
      for (const [i, j] of cells) ctx.strokeRect(j * px + 0.5, i * px + 0.5, px - 1, px - 1);
    }
    if (this.cursor) {
      ctx.strokeStyle = "#000";
      ctx.setLineDash([2, 2]);
      ctx.lineWidth = 1;
      ctx.strokeRect(this.cursor[1] * px + 0.5, this.cursor[0] * px + 0.5, px - 1, px - 1);
      ctx.setLineDash([]);
    }
  }
}

/** A (C, H, W) array as one GridMap per channel; a 1-D array as one map, row-major. */
export function channelMaps(values, { name, title, scale, onActivate, size, width }) {
  const planes = asPlanes(values, width);
  const s = scale === undefined ? maxAbs(values) : scale;
  return planes.map((plane, c) => {
    const flat = !Array.isArray(values[0]);
    const cols = plane[0].length;
    return new GridMap({
      values: plane, scale: s, size,
      name: flat ? name : `${name}[${c}]`,
      title: planes.length > 1 ? `${title || name} channel ${c}` : title || name,
      index: flat ? (i, j) => `${name}[${i * cols + j}]` : (i, j) => `${name}[${c}, ${i}, ${j}]`,
      onActivate: onActivate && ((i, j) => onActivate(flat ? [i * cols + j] : [c, i, j])),
    });
  });
}

/** (C, H, W) stays; a vector becomes one plane of rows of ``width`` (padded with null). */
export function asPlanes(values, width) {
  if (Array.isArray(values[0]) && Array.isArray(values[0][0])) return values;
  if (Array.isArray(values[0])) return [values];
  const w = width || Math.ceil(Math.sqrt(values.length));
  const rows = [];
  for (let k = 0; k < values.length; k += w) {
    const row = values.slice(k, k + w);
    while (row.length < w) row.push(undefined); // not a cell: drawn light gray, never explained
    rows.push(row);
  }
  return [rows];
}

/** A colour legend with its numbers: "-s (blue) ... 0 (white) ... s (red)". */
export function legend(scale) {
  if (scale === "gray") return el("p", { class: "legend", text: "black = 0 (background) … white = 255 (ink)" });
  return el("p", { class: "legend" }, el("span", { class: "swatch neg" }), ` ${fmt(-scale)}  `,
    el("span", { class: "swatch zero" }), " 0  ", el("span", { class: "swatch pos" }), ` ${fmt(scale)}`);
}
