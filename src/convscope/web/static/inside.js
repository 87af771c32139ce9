// Section 5: inside the model. The filters of each conv layer (diverging colours, 0 = white)
// and, for the chosen class, saliency and Grad-CAM over the input (from convscope.inspect).
import { call, offline } from "convscope/api.js";
import { el, maxAbs } from "convscope/format.js";
import { GridMap, legend } from "convscope/maps.js";

export class InsideSection {
  constructor(root, { state }) {
    this.root = root;
    this.state = state;
    this.filters = root.querySelector("#filters");
    this.attributions = root.querySelector("#attributions");
  }

  /** Every conv layer's filters: one block per filter (its channels side by side), one
   * readout per layer for the weight under the mouse or the keyboard cursor. */
  async showFilters() {
    const answer = await call("filters");
    this.filters.replaceChildren(...answer.layers.map((layer) => {
      const scale = maxAbs(layer.weight);
      const [f, c, kh, kw] = [layer.weight.length, layer.weight[0].length, layer.weight[0][0].length, layer.weight[0][0][0].length];
      const readout = el("p", { class: "readout", "aria-live": "polite", text: "move over a weight, or focus a filter and use the arrow keys" });
      const blocks = layer.weight.map((filter, k) => el("div", { class: "filter" },
        el("span", { class: "rowhead", text: `filter ${k}` }),
        filter.map((plane, ch) => new GridMap({ values: plane, scale, size: 40, readout,
          name: `${layer.name}.weight[${k}, ${ch}]`, title: `${layer.name} W[${k}, ${ch}]`,
          index: (u, v) => `${layer.name}.weight[${k}, ${ch}, ${u}, ${v}]` }).element)));
      return el("article", { class: "layer" }, el("h3", { text: `${layer.name}: ${f} filters × ${c} channel(s), ${kh}×${kw}` }),
        legend(scale), el("div", { class: "filters" }, blocks), readout);
    }));
  }

  async showAttributions() {
    const { pixels, target, model } = this.state;
    if (!pixels) return;
    const a = await call("attributions", { pixels, target });
    if (pixels !== this.state.pixels || target !== this.state.target) return;
    const label = model.classes[a.target];
    const under = this.state.pixels[0]; // the picture (channel 0) beneath each map
    const sal = a.saliency.map((plane, c) => new GridMap({ values: plane, size: 168, under,
      name: a.saliency.length > 1 ? `saliency[${c}]` : "saliency", title: `saliency |d logit[${label}] / dx|` }));
    const cam = new GridMap({ values: a.grad_cam.map, name: "Grad-CAM", under, size: 168,
      title: `Grad-CAM (${a.grad_cam.layer}) for ${label}` });
    this.attributions.replaceChildren(el("p", { class: "note", text: a.note }),
      el("div", { class: "maps" }, sal.map((m) => m.element), cam.element),
      el("div", { class: "row" }, legend(maxAbs(a.saliency)), legend(maxAbs(a.grad_cam.map))));
  }

  update() {
    if (offline) return;
    this.showAttributions().catch((err) => this.attributions.replaceChildren(el("p", { class: "note", text: err.message })));
  }
}
