// Section 4: the backward pass for a target label, layer by layer from the loss to the input,
// and one SGD step on a copy of the model. Every gradient cell of a conv (dW, dX) and of a
// pooling layer opens its term-by-term sum.
import { call, offline } from "convscope/api.js";
import { checkLine, dims, el, fmt, maxAbs, numberTable } from "convscope/format.js";
import { channelMaps, GridMap, legend } from "convscope/maps.js";

export class BackwardSection {
  constructor(root, { panel, state }) {
    this.root = root;
    this.panel = panel;
    this.state = state;
    this.select = root.querySelector("#target");
    this.out = root.querySelector("#backward-out");
    this.filters = {};
    if (offline) {
      root.replaceChildren(root.querySelector("h2"), el("p", { class: "note",
        text: "The backward pass and the SGD step need the server: run `convscope serve`." }));
      return;
    }
    this.select.addEventListener("change", () => { this.state.target = Number(this.select.value); this.update(); });
    root.querySelector("#sgd").addEventListener("submit", (e) => { e.preventDefault(); this.step(); });
  }

  setClasses(classes) {
    if (offline) return;
    this.select.replaceChildren(...classes.map((c, k) => el("option", { value: k, text: c })));
  }

  async update() {
    const { pixels, target } = this.state;
    if (!pixels || offline) return;
    this.select.value = String(target);
    const answer = await call("backward", { pixels, target });
    if (answer.target !== this.state.target || pixels !== this.state.pixels) return; // superseded
    this.answer = answer;
    this.render();
  }

  render() {
    const a = this.answer;
    const model = this.state.model;
    const classes = model.classes;
    const every = [...a.checks, ...a.layers.flatMap((l) => l.checks || [])];
    const passed = every.filter((c) => c.ok).length;
    const status = el("p", { id: "gradcheck", class: a.ok ? "ok" : "bad",
      text: `Gradient check: ${a.ok ? "✓ ok" : "✗ MISMATCH"} — ${passed} of ${every.length} checks passed` });
    const rows = classes.map((_, k) => [a.probabilities[k], k === a.target ? 1 : 0, a.dlogits[k]]);
    const blocks = [
      el("p", { text: `L = −log p[${classes[a.target]}] = ${fmt(a.loss)}  (cross-entropy for target ${classes[a.target]})` }),
      numberTable(rows, { caption: "dL/dlogits = p − y", rowHead: classes, colHead: ["p", "y", "p − y"], mark: (i) => i === a.target }),
      status, el("ul", { class: "checks" }, a.checks.map(checkLine)),
    ];
    for (let k = model.layers.length - 1; k >= 0; k--) blocks.push(this.layer(k));
    blocks.push(this.block("input", `dL/dx (the input) · ${dims(model.input_shape)}`,
      channelMaps(a.grad_input, { name: "dL/dx" }), maxAbs(a.grad_input)));
    this.out.replaceChildren(...blocks);
  }

  /** dL/d(input of layer k): the previous layer's output gradient, or dL/dx for the first. */
  gradInput(k) {
    return k ? this.answer.layers[k - 1].grad_output : this.answer.grad_input;
  }

  layer(k) {
    const model = this.state.model;
    const layer = model.layers[k];
    const g = this.answer.layers[k];
    const gradInput = this.gradInput(k);
    const name = `dL/d${layer.name}`;
    const pool = layer.type.endsWith("Pool2d");
    const maps = channelMaps(g.grad_output, {
      name,
      onActivate: pool ? (at) => this.panel.explainGradient({ ...this.request(), name: layer.name, kind: "pool", at }) : undefined,
      width: layer.output_shape.length === 1 ? Math.min(20, Math.ceil(Math.sqrt(g.grad_output.length))) : undefined,
    });
    const extra = [];
    if (g.mask) {
      extra.push(el("p", { text: `ReLU mask [${layer.name} input > 0]: 1 lets the gradient through, 0 blocks it; dL/d(input) = dL/dO × mask` }),
        el("div", { class: "maps" }, channelMaps(g.mask, { name: `mask ${layer.name}`, scale: 1 }).map((m) => m.element)));
    }
    if (g.routes) extra.push(...this.routes(layer, g, gradInput));
    if (layer.type === "Conv2d") extra.push(...this.conv(layer, g, gradInput));
    return this.block(layer.name, `${name} · ${dims(layer.output_shape)} (${layer.type})`, maps, maxAbs(g.grad_output), extra);
  }

  routes(layer, g, gradInput) {
    const w = layer.input_shape[2];
    const maps = channelMaps(gradInput, { name: `dL/d(${layer.name} input)` });
    maps.forEach((m, c) => m.mark(g.routes[c].flat().map((f) => [Math.floor(f / w), f % w]), "route"));
    return [el("p", { text: `where ${layer.name} routes each gradient: to the window's maximum (outlined green), every other cell gets 0 — click a cell of ${"dL/d" + layer.name} to follow one` }),
      el("div", { class: "maps" }, maps.map((m) => m.element))];
  }

  conv(layer, g, gradInput) {
    const f0 = this.filters[layer.name] || 0; // the filter chosen before, kept across updates
    const pick = el("select", { "aria-label": `Filter of ${layer.name}` },
      g.weight_grad.map((_, f) => el("option", { value: f, text: `filter ${f}`, selected: f === f0 })));
    const holder = el("div");
    const show = (f) => {
      this.filters[layer.name] = f;
      const dw = g.weight_grad[f];
      const size = plane0 => Math.max(112, 30 * plane0.length); // cells big enough for their numbers
      const maps = dw.map((plane, c) => new GridMap({ values: plane, name: `dW[${f}, ${c}]`, scale: maxAbs(dw), size: size(plane),
        title: `dL/dW[${f}, ${c}]`, index: (u, v) => `dL/d${layer.name}.weight[${f}, ${c}, ${u}, ${v}]`,
        onActivate: (u, v) => this.panel.explainGradient({ ...this.request(), name: layer.name, kind: "weight", at: [f, c, u, v] }) }));
      const db = g.bias_grad ? el("p", { text: `dL/db[${f}] = sum of dL/dO[${f}] = ${fmt(g.bias_grad[f])}` }) : null;
      holder.replaceChildren(el("div", { class: "maps" }, maps.map((m) => m.element)), legend(maxAbs(dw)), db);
    };
    pick.addEventListener("change", () => show(Number(pick.value)));
    show(f0);
    const dx = channelMaps(gradInput, { name: `dL/d(${layer.name} input)`,
      onActivate: (at) => this.panel.explainGradient({ ...this.request(), name: layer.name, kind: "input", at }) });
    return [
      el("p", { class: "formula-line", text: `dL/dW[f] = X ⋆ dL/dO[f] (the layer input cross-correlated with filter f's output gradient), for` }),
      el("label", {}, "filter ", pick), holder,
      el("p", { class: "formula-line", text: "dL/dX = Σ over filters f of the full cross-correlation of dilate(dL/dO[f], stride) with rot180(W[f]) — click a cell for its terms" }),
      el("div", { class: "maps" }, dx.map((m) => m.element)), legend(maxAbs(gradInput)),
      el("ul", { class: "checks" }, (g.checks || []).map(checkLine)),
    ];
  }

  block(name, title, maps, scale, extra = []) {
    return el("article", { class: "layer", id: `grad-${name}` }, el("h3", { text: title }),
      el("div", { class: "maps" }, maps.map((m) => m.element)), legend(scale), ...extra);
  }

  request() {
    return { pixels: this.state.pixels, target: this.state.target };
  }

  async step() {
    const lr = Number(this.root.querySelector("#lr").value);
    const answer = await call("step", { ...this.request(), lr });
    const classes = this.state.model.classes;
    const t = answer.target;
    const row = (s) => [s.loss, s.probabilities[t], s.prediction];
    this.root.querySelector("#sgd-out").replaceChildren(
      numberTable([row(answer.before), row(answer.after)], { caption: `one SGD step, lr = ${fmt(answer.lr)}, target ${classes[t]} (on a copy: the served model is unchanged)`,
        rowHead: ["before", "after"], colHead: ["loss", `p[${classes[t]}]`, "prediction"] }));
  }
}
