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

  async showFilters() {
    const answer = await call("filters");
    this.filters.replaceChildren(...answer.layers.map((layer) => {
      const scale = maxAbs(layer.weight);
      const rows = layer.weight.map((filter, f) => el("div", { class: "maps filter" },
        el("span", { class: "rowhead", text: `filter ${f}` }),
        filter.map((plane, c) => new GridMap({ values: plane, scale, size: 60, name: `${layer.name}.weight[${f}, ${c}]`,
          index: (u, v) => `${layer.name}.weight[${f}, ${c}, ${u}, ${v}]`, title: `${layer.name} W[${f}, ${c}]` }).element)));
      return el("article", { class: "layer" }, el("h3", { text: `${layer.name}: ${layer.weight.length} filters × ${layer.weight[0].length} channels, ${layer.weight[0][0].length}×${layer.weight[0][0][0].length}` }),
        legend(scale), ...rows);
    }));
  }

  async showAttributions() {
    const { pixels, target, model } = this.state;
    if (!pixels) return;
    const a = await call("attributions", { pixels, target });
    if (pixels !== this.state.pixels || target !== this.state.target) return;
    const label = model.classes[a.target];
    const sal = a.saliency.map((plane, c) => new GridMap({ values: plane, size: 168,
      name: a.saliency.length > 1 ? `saliency[${c}]` : "saliency", title: `saliency |d logit[${label}] / dx|` }));
    const cam = new GridMap({ values: a.grad_cam.map, name: "Grad-CAM", title: `Grad-CAM (${a.grad_cam.layer}) for ${label}`, size: 168 });
    this.attributions.replaceChildren(el("p", { class: "note", text: a.note }),
      el("div", { class: "maps" }, sal.map((m) => m.element), cam.element),
      el("div", { class: "row" }, legend(maxAbs(a.saliency)), legend(maxAbs(a.grad_cam.map))));
  }

  update() {
    if (offline) return;
    this.showAttributions().catch((err) => this.attributions.replaceChildren(el("p", { class: "note", text: err.message })));
  }
}
