// Section 1: where the picture comes from (a drawing, an upload, a held-out digit) and what the
// model really gets: the picture, the grid it was converted to, and the normalised input.
import { call, offline } from "convscope/api.js";
import { el } from "convscope/format.js";
import { GridMap, legend } from "convscope/maps.js";

export class InputSection {
  /** onPicture(blob) / onPixels(pixels, facts): a new input for the model. */
  constructor(root, { onPicture, onPixels }) {
    this.root = root;
    this.onPicture = onPicture;
    this.onPixels = onPixels;
    this.canvas = root.querySelector("#draw");
    this.picture = root.querySelector("#picture");
    this.grids = root.querySelector("#grids");
    if (offline) {
      root.querySelector("#sources").replaceChildren(el("p", { class: "note",
        text: "An exported page shows the one picture it was made with; run `convscope serve` to draw, upload or pick another." }));
      return;
    }
    this.setUpDrawing();
    root.querySelector("#upload").addEventListener("change", (e) => this.upload(e.target.files[0]));
    this.picker = root.querySelector("#digit-picker");
    this.picker.addEventListener("change", () => this.pick(this.picker.value));
  }

  /** Fill the held-out picker; false when the model takes no 28x28 digits (the reason is shown). */
  async fillPicker() {
    if (offline) return false;
    try {
      const { labels } = await call("digits");
      this.picker.append(...labels.map((label, k) => el("option", { value: k, text: `test digit ${k} (a ${label})` })));
      return true;
    } catch (err) {
      this.picker.disabled = true;
      this.picker.after(el("span", { class: "note", text: ` ${err.message}` }));
      return false;
    }
  }

  setUpDrawing() {
    const ctx = this.canvas.getContext("2d");
    const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, this.canvas.width, this.canvas.height); };
    clear();
    let drawing = false;
    // the picture is made when the request goes out (the newest drawing, at most every 100 ms)
    const send = () => this.onPicture(() => pngOf(this.canvas), { source: "drawing" });
    const point = (e) => {
      const r = this.canvas.getBoundingClientRect();
      return [((e.clientX - r.left) / r.width) * this.canvas.width, ((e.clientY - r.top) / r.height) * this.canvas.height];
    };
    this.canvas.addEventListener("pointerdown", (e) => {
      drawing = true;
      this.canvas.setPointerCapture(e.pointerId);
      this.showPicture(this.canvas);
      ctx.strokeStyle = ctx.fillStyle = "#fff";
      ctx.lineWidth = this.canvas.width / 14;
      ctx.lineCap = ctx.lineJoin = "round";
      const [x, y] = point(e);
      ctx.beginPath();
      ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      ctx.beginPath();
      ctx.moveTo(x, y);
      send();
    });
    this.canvas.addEventListener("pointermove", (e) => {
      if (!drawing) return;
      ctx.lineTo(...point(e));
      ctx.stroke();
      send();
    });
    const end = () => {
      if (drawing) send();
      drawing = false;
    };
    this.canvas.addEventListener("pointerup", end);
    this.canvas.addEventListener("pointercancel", end);
    this.root.querySelector("#clear").addEventListener("click", clear);
  }

  upload(file) {
    if (!file) return;
    const img = el("img", { src: URL.createObjectURL(file), alt: `the uploaded picture ${file.name}` });
    this.showPicture(img);
    this.onPicture(file, { source: "upload", name: file.name });
  }

  async pick(index) {
    if (index === "") return;
    const digit = await call(`digits/${index}`);
    this.showPicture(new GridMap({ values: digit.pixels[0], name: "digit", scale: "gray",
      title: `test digit ${digit.index} (labelled ${digit.label})` }).element);
    this.onPixels(digit.pixels, { source: "digit", label: digit.label, index: digit.index });
  }

  showPicture(node) {
    if (node === this.canvas) {
      this.picture.replaceChildren(el("p", { class: "note", text: "the picture is your drawing (left)" }));
      return;
    }
    this.picture.replaceChildren(node);
  }

  /** The grid the picture became and the normalised input, from a forward answer. */
  showModelInput(answer, model) {
    const { pixels, normalized, picture } = answer.input;
    const shape = pixels.length > 1 ? `${pixels.length}×` : "";
    const made = picture ? `A ${picture.width}×${picture.height} ${picture.format || ""} picture` : "The picture";
    const grids = pixels.map((plane, c) => new GridMap({ values: plane, name: pixels.length > 1 ? `pixels[${c}]` : "pixels",
      scale: "gray", title: `${shape}${plane.length}×${plane[0].length} grid` }).element);
    const norm = normalized.map((plane, c) => new GridMap({ values: plane, name: normalized.length > 1 ? `x[${c}]` : "x",
      title: "normalised input x" }).element);
    const table = el("details", {}, el("summary", { text: "Show the numbers of the grid" }),
      el("pre", { class: "matrix", text: pixels[0].map((row) => row.map((v) => String(v).padStart(3)).join(" ")).join("\n") }));
    this.grids.replaceChildren(
      el("p", { text: `${made}, converted: ${model.preprocess}.` }),
      el("div", { class: "maps" }, grids, norm), legend("gray"), table);
  }
}

/** The canvas as PNG bytes, now (toDataURL is synchronous, toBlob is not). */
function pngOf(canvas) {
  const data = atob(canvas.toDataURL("image/png").split(",")[1]);
  const bytes = new Uint8Array(data.length);
  for (let k = 0; k < data.length; k++) bytes[k] = data.charCodeAt(k);
  return new Blob([bytes], { type: "image/png" });
}
