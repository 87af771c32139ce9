// Section 3: one cell, explained. The window on the layer's input (every channel), the numbers
// it multiplies, the sum of products with the bias, the activation, and the engine's check.
// Served: the trace comes from the engine (`convscope explain` for that cell of the real
// network). Exported: the same numbers are looked up in the snapshot of the forward pass, and
// the check is the one made at export for every cell of the layer.
import { call, offline, snapshot } from "convscope/api.js";
import { checkLine, el, fmt, numberTable } from "convscope/format.js";

export class CellPanel {
  constructor(root) {
    this.root = root;
    this.shown = 0; // bumped by every new explanation and every clear(): late answers are dropped
  }

  clear(text) {
    this.shown += 1;
    this.root.replaceChildren(el("p", { class: "note", text }));
  }

  /** Ask the engine; null when the panel moved on (a newer cell or a new picture) meanwhile. */
  async ask(path, body) {
    const mine = ++this.shown;
    const answer = await call(path, body);
    return mine === this.shown ? answer : null;
  }

  /** A forward cell of ``name`` at [c, i, j] (a vector layer has no cells to explain). */
  async explain({ model, forward, pixels, name, at, where }) {
    const k = model.layers.findIndex((l) => l.name === name);
    const owner = model.layers.find((l) => l.name === model.layers[k].explained_by);
    const inputs = windowTables(model, forward, owner, at, where);
    const heading = el("h3", { text: `${name}[${at.join(", ")}] = ${fmt(cellValue(forward.layers[k].output, at))}` });
    if (offline) {
      const formula = el("pre", { class: "formula", text: offlineFormula(model, forward, owner, name, at, where) });
      this.root.replaceChildren(heading, checks(snapshot.checks[owner.name] || []), formula, inputs);
      return;
    }
    this.root.replaceChildren(heading, el("p", { class: "note", text: "asking the engine…" }), inputs);
    const trace = await this.ask("cell", { pixels, layer: name, at });
    if (!trace) return;
    const [title, formulas, terms, checked, text] = traceParts(trace, () => call("cell", { pixels, layer: name, at, text: true }));
    this.root.replaceChildren(heading, title, checked, ...formulas, terms || "", inputs, text);
  }

  /** A gradient cell: kind "weight" | "input" | "pool" of layer ``name``. */
  async explainGradient({ pixels, target, name, kind, at }) {
    const labels = { weight: `dL/d${name}.weight`, input: `dL/d(${name} input)`, pool: `dL/d${name}` };
    const heading = el("h3", { text: `${labels[kind]}[${at.join(", ")}]` });
    this.root.replaceChildren(heading, el("p", { class: "note", text: "asking the engine…" }));
    const body = { pixels, target, layer: name, kind, at };
    const trace = await this.ask("grad-cell", body);
    if (!trace) return;
    const [title, formulas, terms, checked, text] = traceParts(trace, () => call("grad-cell", { ...body, text: true }));
    this.root.replaceChildren(heading, title, checked, ...formulas, terms || "", text);
  }

  show(parts) {
    this.root.replaceChildren(...parts);
  }
}

/** What the page shows of an engine trace: [title, [formulas], term table or null, checks,
 * the text `convscope explain` prints, asked for with ``withText()`` when it is opened]. */
export function traceParts(trace, withText) {
  const terms = trace.steps.find((s) => s.operands && s.operands.terms);
  const text = el("pre", { class: "explain", text: "asking the engine…" });
  const details = el("details", {}, el("summary", { text: "as `convscope explain` prints it" }), text);
  details.addEventListener("toggle", async () => {
    if (details.open && !details.dataset.filled) {
      details.dataset.filled = "1";
      text.textContent = (await withText()).text;
    }
  });
  return [
    el("p", { class: "title", text: trace.title }),
    trace.steps.map((s) => el("pre", { class: "formula", text: s.formula })),
    terms ? termTable(terms) : null,
    checks(trace.checks),
    details,
  ];
}

function termTable(step) {
  const { terms, W, dO, products } = step.operands;
  const rows = terms.map((t, n) => [t[0], t[2], t[3], t[4], t[5], W[n], dO[n], products[n]]);
  return el("details", {}, el("summary", { text: `all ${terms.length} terms` }),
    numberTable(rows, { colHead: ["f", "u", "v", "i", "j", "W[f,c,u,v]", "dO[f,i,j]", "product"] }));
}

function checks(list) {
  return el("ul", { class: "checks" }, list.map(checkLine));
}

function cellValue(values, at) {
  return at.reduce((a, i) => a[i], values);
}

/** Per input channel the window's values (padding: 0, marked) and, for a conv, the filter. */
function windowTables(model, forward, owner, at, where) {
  const j = model.layers.indexOf(owner);
  const input = j > 0 ? forward.layers[j - 1].output : forward.input.normalized;
  const [c, i, jj] = at;
  const padded = (u, v) => where.rows[u] < 0 || where.cols[v] < 0;
  const box = el("div", { class: "windows" });
  where.channels.forEach((ch, n) => {
    const win = where.rows.map((r) => where.cols.map((q) => (r >= 0 && q >= 0 ? input[ch][r][q] : 0)));
    box.append(numberTable(win, { caption: `${where.inputName}[${ch}] window (rows ${where.rows.filter((r) => r >= 0).join(",")})`, mark: padded }));
    if (owner.type === "Conv2d") box.append(numberTable(owner.weight[c][n], { caption: `W[${c}, ${n}]` }));
  });
  const bias = owner.type === "Conv2d" && owner.bias ? el("p", { text: `bias b[${c}] = ${fmt(owner.bias[c])}` }) : null;
  const pad = where.padding ? el("p", { class: "note", text: `${where.padding} window cell(s) fall in the padding: zeros (marked).` }) : null;
  return el("div", {}, el("p", { text: `${owner.name} at row ${i}, column ${jj}: its window on ${where.inputName}` }), box, bias, pad);
}

/** The exported page's formula, written from the snapshot's numbers (nothing recomputed). */
function offlineFormula(model, forward, owner, name, at, where) {
  const j = model.layers.indexOf(owner);
  const input = j > 0 ? forward.layers[j - 1].output : forward.input.normalized;
  const [c, i, jj] = at;
  const z = forward.layers[j].output[c][i][jj];
  const t = (v) => (v < 0 ? `(${fmt(v)})` : fmt(v));
  const a = (ch, u, v) => (where.rows[u] >= 0 && where.cols[v] >= 0 ? input[ch][where.rows[u]][where.cols[v]] : 0);
  const lines = [];
  if (owner.type === "Conv2d") {
    const terms = [];
    where.channels.forEach((ch, n) => where.rows.forEach((_, u) => where.cols.forEach((__, v) =>
      terms.push(`(${t(a(ch, u, v))}*${t(owner.weight[c][n][u][v])})`))));
    lines.push(`Z[${c},${i},${jj}] = ${terms.join(" + ")} + ${t(owner.bias ? owner.bias[c] : 0)} = ${fmt(z)}`);
  } else {
    const values = [];
    where.rows.forEach((_, u) => where.cols.forEach((__, v) => values.push(fmt(a(c, u, v)))));
    lines.push(`Y[${c},${i},${jj}] = ${owner.type.replace("Pool2d", "").toLowerCase()}(${values.join(", ")}) = ${fmt(z)}`);
  }
  for (let k = j + 1; k <= model.layers.findIndex((l) => l.name === name); k++) {
    lines.push(`${model.layers[k].name}[${c},${i},${jj}] = ${model.layers[k].type}(…) = ${fmt(forward.layers[k].output[c][i][jj])}`);
  }
  return lines.join("\n");
}
