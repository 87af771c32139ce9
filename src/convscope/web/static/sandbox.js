// Section 6: the shape sandbox. The server fills the formula in (or says why the configuration
// is invalid) and gives the window of every step; this file only draws them, labelling which
// grid is the input and which the output, for a convolution and a transposed convolution.
import { call, offline } from "convscope/api.js";
import { el } from "convscope/format.js";

const CELL = 22;
const MAX_SIDE = 40; // larger grids get the formula, not the animation

export class Sandbox {
  constructor(root) {
    this.root = root;
    this.form = root.querySelector("#shape-form");
    this.formula = root.querySelector("#shape-formula");
    this.stage = root.querySelector("#shape-anim");
    this.caption = root.querySelector("#shape-caption");
    this.frame = 0;
    this.timer = null;
    if (offline) {
      root.replaceChildren(root.querySelector("h2"), el("p", { class: "note", text: "The sandbox needs the server: run `convscope serve`." }));
      return;
    }
    this.form.addEventListener("input", () => this.update());
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.update(); });
    root.querySelector("#shape-play").addEventListener("click", () => this.toggle());
    root.querySelector("#shape-next").addEventListener("click", () => { this.pause(); this.show(this.frame + 1); });
  }

  query() {
    const f = new FormData(this.form);
    const q = new URLSearchParams({ size: `${f.get("h")},${f.get("w")}`, kernel: f.get("kernel"), stride: f.get("stride"),
      padding: f.get("padding"), dilation: f.get("dilation"), transposed: f.get("transposed") ? "1" : "0",
      output_padding: f.get("output_padding") });
    return `shape?${q}`;
  }

  async update() {
    if (offline) return;
    let answer;
    try {
      answer = await call(this.query());
    } catch (err) {
      this.formula.textContent = err.message;
      this.stop("");
      return;
    }
    this.answer = answer;
    this.formula.textContent = answer.steps.map((s) => s.formula).join("\n\n");
    if (!answer.output) return this.stop(`invalid: ${answer.invalid}`);
    const pad = 2 * answer.padding;
    const big = Math.max(...answer.size, ...answer.output) + pad > MAX_SIDE;
    if (big) return this.stop(`too large to animate (more than ${MAX_SIDE} cells a side); the formula above holds`);
    this.frames = answer.windows.rows[0].length * answer.windows.cols[0].length;
    this.show(0);
    if (!this.timer && !matchMedia("(prefers-reduced-motion: reduce)").matches) this.toggle();
  }

  stop(text) {
    this.pause();
    this.stage.replaceChildren();
    this.caption.textContent = text;
  }

  toggle() {
    if (this.timer) return this.pause();
    this.timer = setInterval(() => this.show(this.frame + 1), 700);
    this.root.querySelector("#shape-play").textContent = "Pause";
  }

  pause() {
    clearInterval(this.timer);
    this.timer = null;
    this.root.querySelector("#shape-play").textContent = "Play";
  }

  /** Frame k: conv -> output cell k and the input window it reads; transposed -> input cell k
   * and the output window it writes. */
  show(k) {
    const a = this.answer;
    const t = a.windows;
    const transposed = a.transposed;
    const steps = t.cols[0].length;
    this.frame = k % this.frames;
    const i = Math.floor(this.frame / steps);
    const j = this.frame % steps;
    const rows = t.rows_full.map((r) => r[i]);
    const cols = t.cols_full.map((r) => r[j]);
    const window = rows.flatMap((r) => cols.map((q) => [r, q]));
    const [h, w] = a.size;
    const p = a.padding;
    const [oh, ow] = a.output;
    const done = (n) => Array.from({ length: n }, (_, m) => [Math.floor(m / steps), m % steps]);
    let left, right, text;
    if (!transposed) {
      left = grid(`INPUT ${h}×${w}` + (p ? ` (+ padding ${p}, dashed)` : ""), h + 2 * p, w + 2 * p, { ring: p, window });
      right = grid(`OUTPUT ${oh}×${ow}`, oh, ow, { current: [i, j], done: done(this.frame) });
      text = `output[${i}, ${j}] reads input rows ${list(t.rows.map((r) => r[i]))} and columns ${list(t.cols.map((r) => r[j]))}`;
    } else {
      left = grid(`INPUT ${h}×${w}`, h, w, { current: [i, j], done: done(this.frame) });
      right = grid(`OUTPUT ${oh}×${ow}` + (p ? ` (the dashed ring of ${p} is cropped)` : ""), oh + 2 * p, ow + 2 * p, { ring: p, window });
      text = `input[${i}, ${j}] × kernel is added into output rows ${list(t.rows.map((r) => r[i]), "cropped")} and columns ${list(t.cols.map((r) => r[j]), "cropped")}`;
    }
    this.stage.replaceChildren(left, el("span", { class: "arrow", "aria-hidden": "true", text: "→" }), right);
    this.caption.textContent = `step ${this.frame + 1} of ${this.frames}: ${text}`;
  }
}

function list(values, outside = "padding") {
  return values.map((v) => (v < 0 ? outside : v)).join(", ");
}

/** A labelled grid: ring = dashed border cells (padding or cropped), window / current / done marks. */
function grid(label, h, w, { ring = 0, window = [], current = null, done = [] }) {
  const canvas = el("canvas", { width: w * CELL, height: h * CELL, role: "img", "aria-label": label });
  const ctx = canvas.getContext("2d");
  const inWindow = new Set(window.map(([r, q]) => `${r},${q}`));
  const finished = new Set(done.map(([r, q]) => `${r},${q}`));
  for (let r = 0; r < h; r++) {
    for (let q = 0; q < w; q++) {
      const outside = r < ring || q < ring || r >= h - ring || q >= w - ring;
      const key = `${r},${q}`;
      ctx.fillStyle = inWindow.has(key) ? "#f5a300" : current && current[0] === r && current[1] === q ? "#7b2cbf"
        : finished.has(key) ? "#c9d8ef" : outside ? "#f3f3f3" : "#fff";
      ctx.fillRect(q * CELL, r * CELL, CELL, CELL);
      ctx.strokeStyle = "#888";
      ctx.setLineDash(outside ? [3, 3] : []);
      ctx.strokeRect(q * CELL + 0.5, r * CELL + 0.5, CELL - 1, CELL - 1);
    }
  }
  ctx.setLineDash([]);
  return el("figure", { class: "grid" }, el("figcaption", { text: label }), canvas);
}
