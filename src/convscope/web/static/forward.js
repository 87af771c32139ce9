// Section 2: every layer in order with its output shape, every channel of every feature map,
// the probabilities as bars and the prediction. Cells of conv/pool outputs (and of the
// activations right after a conv) open their explanation.
import { dims, el, fmt, maxAbs } from "convscope/format.js";
import { channelMaps, legend } from "convscope/maps.js";

export class ForwardSection {
  constructor(root, { onCell }) {
    this.root = root;
    this.onCell = onCell;
    this.status = root.querySelector("#prediction");
    this.bars = root.querySelector("#bars");
    this.layers = root.querySelector("#layers");
    this.maps = {};
  }

  render(answer, model) {
    this.answer = answer;
    this.model = model;
    const p = answer.probabilities;
    this.status.textContent = `Prediction: ${answer.label} (probability ${fmt(p[answer.prediction])})`;
    this.bars.replaceChildren(...p.map((v, k) => {
      const bar = el("span", { class: "bar" });
      bar.style.width = `${Math.max(0.5, 100 * v)}%`;
      return el("li", { class: k === answer.prediction ? "best" : null },
        el("span", { class: "class", text: model.classes[k] }), el("span", { class: "track" }, bar),
        el("span", { class: "value", text: fmt(v) }));
    }));
    this.maps = { input: channelMaps(answer.input.normalized, { name: "x", title: "input x" }) };
    const blocks = [this.block("input", `input x (normalised) · ${dims(model.input_shape)}`, this.maps.input, maxAbs(answer.input.normalized))];
    model.layers.forEach((layer, k) => {
      const values = answer.layers[k].output;
      const explained = layer.explained_by;
      this.maps[layer.name] = channelMaps(values, {
        name: layer.name,
        onActivate: explained ? (at) => this.onCell(layer.name, at) : undefined,
        width: layer.output_shape.length === 1 ? Math.min(20, Math.ceil(Math.sqrt(values.length))) : undefined,
      });
      const params = layer.parameters ? ` · ${layer.parameters} parameters` : "";
      const title = `${layer.name} · ${layer.text.split("\n")[0]} → ${dims(layer.output_shape)}${params}`;
      blocks.push(this.block(layer.name, title, this.maps[layer.name], maxAbs(values), explained));
    });
    this.layers.replaceChildren(...blocks);
    this.rendered = performance.now();
  }

  block(name, title, maps, scale, explained) {
    const hint = explained ? el("p", { class: "hint", text: "click a cell, or focus a map and press Enter, to see how it was computed" }) : null;
    return el("article", { class: "layer", id: `layer-${name}` }, el("h3", { text: title }), hint,
      el("div", { class: "maps" }, maps.map((m) => m.element)), legend(scale));
  }

  /** Outline the window of cell ``at`` of ``name`` on its layer's input, in every channel it reads. */
  highlight(name, at) {
    for (const maps of Object.values(this.maps)) for (const m of maps) m.clear();
    const model = this.model;
    const k = model.layers.findIndex((l) => l.name === name);
    const owner = model.layers.findIndex((l) => l.name === model.layers[k].explained_by);
    const layer = model.layers[owner];
    const inputMaps = owner > 0 ? this.maps[model.layers[owner - 1].name] : this.maps.input;
    const [c, i, j] = at;
    this.maps[name][c].mark([[i, j]], "chosen");
    if (!layer.windows) return { padding: 0 };
    const rows = layer.windows.rows.map((r) => r[i]);
    const cols = layer.windows.cols.map((r) => r[j]);
    const cells = [];
    let padding = 0;
    for (const r of rows) for (const q of cols) (r >= 0 && q >= 0 ? cells.push([r, q]) : padding++);
    const channels = layer.type === "Conv2d" ? groupChannels(layer, c) : [c];
    for (const ch of channels) inputMaps[ch].mark(cells, "window");
    const routes = this.answer.layers[owner].routes;
    if (routes) {
      const w = layer.input_shape[2];
      const flat = routes[c][i][j];
      inputMaps[c].mark([[Math.floor(flat / w), flat % w]], "route");
    }
    inputMaps[channels[0]].canvas.scrollIntoView({ block: "nearest", behavior: "smooth" });
    return { rows, cols, channels, padding, inputName: owner > 0 ? model.layers[owner - 1].name : "x" };
  }
}

/** The input channels a filter of a (grouped) Conv2d reads. */
export function groupChannels(layer, f) {
  const [cin] = layer.input_shape;
  const groups = layer.groups || 1;
  const per = cin / groups;
  const g = Math.floor(f / (layer.output_shape[0] / groups));
  return Array.from({ length: per }, (_, k) => g * per + k);
}
