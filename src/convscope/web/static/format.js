// Drawing helpers: number formatting, colour scales and DOM building. No model math here:
// every number the page shows comes from the server (or from an exported snapshot of it).

/** A number as the page shows it: 4 significant digits, integers as they are, null as "nan". */
export function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** The largest |value| of a nested array (0 when empty). */
export function maxAbs(values) {
  let m = 0;
  for (const v of values.flat(Infinity)) if (v !== null && Math.abs(v) > m) m = Math.abs(v);
  return m;
}

/** Diverging colour for v in [-scale, scale]: blue below 0, white at 0, red above. */
export function diverging(v, scale) {
  if (v === null) return [255, 220, 0];
  const t = scale > 0 ? Math.max(-1, Math.min(1, v / scale)) : 0;
  const a = Math.abs(t);
  const [r, g, b] = t >= 0 ? [178, 24, 43] : [33, 102, 172];
  return [255 + (r - 255) * a, 255 + (g - 255) * a, 255 + (b - 255) * a].map(Math.round);
}

/** Gray for a pixel 0..255 (black background, white ink, as the model sees a digit). */
export function gray(v) {
  return [v, v, v];
}

/** el("div", {class: "x", text: "y"}, child, ...): a DOM element. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

/** A small table of numbers (rows of values), with optional row/column headers. */
export function numberTable(rows, { caption, rowHead, colHead, mark } = {}) {
  const table = el("table", { class: "numbers" });
  if (caption) table.append(el("caption", { text: caption }));
  if (colHead) table.append(el("tr", {}, el("th"), colHead.map((h) => el("th", { scope: "col", text: h }))));
  rows.forEach((row, i) => {
    const cells = row.map((v, j) => el("td", { class: mark && mark(i, j) ? "mark" : null, text: fmt(v) }));
    table.append(el("tr", {}, rowHead ? el("th", { scope: "row", text: rowHead[i] }) : null, cells));
  });
  return table;
}

/** "6x28x28" */
export function dims(shape) {
  return shape.join("×");
}

/** A check as a line with a word, never a colour alone: "ok" / "MISMATCH". */
export function checkLine(check) {
  return el("li", { class: check.ok ? "ok" : "bad" }, el("span", { class: "verdict", text: check.ok ? "✓ ok" : "✗ MISMATCH" }),
    " ", check.what, `: max |difference| = ${check.max_abs_error ? Number(check.max_abs_error).toPrecision(3) : 0}`);
}
