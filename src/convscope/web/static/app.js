// The page: one state (the model, the picture as the model gets it, its forward pass, the
// target), the sections that draw it, and the error line. Python computes; this draws.
import { ApiError, call, Latest, offline, snapshot } from "convscope/api.js";
import { BackwardSection } from "convscope/backward.js";
import { CellPanel } from "convscope/cells.js";
import { el } from "convscope/format.js";
import { ForwardSection } from "convscope/forward.js";
import { InputSection } from "convscope/input.js";
import { InsideSection } from "convscope/inside.js";
import { Sandbox } from "convscope/sandbox.js";

const state = { model: null, pixels: null, forward: null, label: null, target: 0 };
const errorLine = document.getElementById("error");
const EVERY_MS = 100; // a drawing's prediction updates at most this often
const latest = new Latest(EVERY_MS);

function report(err) {
  if (err && err.name === "AbortError") return;
  errorLine.hidden = false;
  errorLine.textContent = err instanceof ApiError ? err.message : `the page failed: ${err}`;
}

function guard(fn) {
  return (...args) => Promise.resolve().then(() => fn(...args)).catch(report);
}

const panel = new CellPanel(document.getElementById("cell-panel"));
const forward = new ForwardSection(document.getElementById("forward"), {
  onCell: guard(async (name, at) => {
    const where = forward.highlight(name, at);
    await panel.explain({ model: state.model, forward: state.forward, pixels: state.pixels, name, at, where });
  }),
});
const backward = new BackwardSection(document.getElementById("backward"), { panel, state });
const inside = new InsideSection(document.getElementById("inside"), { state });
// the backward section sets state.target first (its listener was added first)
document.getElementById("target")?.addEventListener("change", () => inside.update());
const input = new InputSection(document.getElementById("input"), {
  onPicture: guard((picture, facts) => run(() => call("forward", typeof picture === "function" ? picture() : picture), facts)),
  onPixels: guard((pixels, facts) => run(() => call("forward", { pixels }), facts)),
});
const sandbox = new Sandbox(document.getElementById("sandbox"));

/** A new input: its forward pass (latest-only), then everything that depends on it. */
async function run(make, facts) {
  const answer = await latest.run(make);
  if (!answer) return; // a newer picture superseded this one before it was sent
  errorLine.hidden = true;
  state.forward = answer;
  state.pixels = answer.input.pixels;
  state.label = facts && facts.label !== undefined ? facts.label : null;
  state.target = state.label !== null ? state.model.classes.indexOf(String(state.label)) : answer.prediction;
  if (state.target < 0) state.target = answer.prediction;
  input.showModelInput(answer, state.model);
  forward.render(answer, state.model);
  panel.clear("Click a cell of a feature map (or focus a map and press Enter) to see how it was computed.");
  performance.mark("maps-drawn");
  if (!offline && !(facts && facts.source === "drawing")) {
    backward.update().catch(report);
    inside.update();
  } else if (!offline) {
    clearTimeout(run.later);
    run.later = setTimeout(() => { backward.update().catch(report); inside.update(); }, 400);
  }
}

async function start() {
  state.model = await call("model");
  const m = state.model;
  document.getElementById("model-line").textContent =
    `${m.model} · ${m.parameters.toLocaleString("en")} parameters · input ${m.input_shape.join("×")} · ${m.checkpoint}`;
  backward.setClasses(m.classes);
  document.getElementById("export").addEventListener("click", guard(exportPage));
  if (offline) {
    document.body.classList.add("offline");
    const { pixels, label } = snapshot;
    await run(() => call("forward", { pixels }), { source: "export", label });
    await inside.showFilters();
    await inside.showAttributions();
    return;
  }
  inside.showFilters().catch(report);
  sandbox.update().catch(report);
  if (await input.fillPicker()) {
    input.picker.value = "0";
    await input.pick("0");
  }
}

async function exportPage() {
  if (!state.pixels) throw new ApiError("choose a picture first: draw, upload or pick a test digit");
  if (offline) throw new ApiError("this page is already an export; run `convscope serve` to export another");
  const blob = await call("export", { pixels: state.pixels });
  const a = el("a", { href: URL.createObjectURL(blob), download: "convscope-page.html" });
  document.body.append(a);
  a.click();
  a.remove();
}

start().catch(report);
