// The unit sliders: one range input per chosen unit, stopping at the values Python chose for it,
// and the decoded image of the code they show. Python sends, for the position `at` it decoded
// around, one PNG atlas: row r holds the code at `at` with unit r set to each of its values,
// decoded. A slider moved from `at` therefore has its exact picture here already: the tile is
// drawn in the input event, with no round trip. On release the position is reported ("at"), and
// Python sends the strips around it. Two sliders apart from `at` (the second moved before the
// strips of the first came back) have no exact tile: the picture is marked pending until they
// come, never shown as if it were that code's.

const STATES = new WeakMap();

function setup(parent) {
  const root = el("div", "lse-us", parent);
  const rows = el("div", "lse-us-rows", root);
  const fig = el("figure", "lse-us-fig", root);
  const canvas = el("canvas", "lse-us-img", fig);
  const cap = el("figcaption", "lse-us-cap", fig);
  return { root, rows, canvas, cap, sig: null, gen: 0, strips: null, shown: [], inputs: [], texts: [], report: null };
}

// a new start or a new set of units: the sliders anew, at the position Python gives
function build(s, d) {
  s.sig = d.sig; s.d = d; s.strips = null; s.shown = d.at.slice();
  s.rows.textContent = ""; s.inputs = []; s.texts = [];
  d.units.forEach((u, r) => {
    const row = el("label", "lse-us-row", s.rows);
    el("span", "lse-us-name", row, `unit ${u}`);
    const input = el("input", "", row);
    input.type = "range"; input.min = "0"; input.max = String(d.values[r].length - 1); input.step = "1";
    input.value = String(s.shown[r]);
    input.setAttribute("aria-label", `unit ${u}`);
    const text = el("span", "lse-us-val", row);
    input.addEventListener("input", () => { s.shown[r] = Number(input.value); paint(s); });
    input.addEventListener("change", () => report(s));
    s.inputs.push(input); s.texts.push(text);
  });
  const [h, w] = d.tile;
  s.canvas.width = w; s.canvas.height = h;
}

function report(s) {
  if (s.report) s.report("at", { sig: s.sig, idx: s.shown.slice() });
}

// the code the sliders show: the start code with each chosen unit at its slider's value
function shownCode(s) {
  const code = s.d.base.slice();
  s.d.units.forEach((u, r) => { code[u] = s.d.values[r][s.shown[r]]; });
  return code;
}

function paint(s) {
  const d = s.d, st = s.strips;
  d.units.forEach((u, r) => { s.texts[r].textContent = Number(d.values[r][s.shown[r]]).toPrecision(3); });
  const moved = d.units.filter((u, r) => s.shown[r] !== d.start_at[r]);
  const apart = st ? s.shown.map((k, r) => (k !== st.at[r] ? r : -1)).filter((r) => r >= 0) : null;
  s.root.dataset.code = JSON.stringify(shownCode(s));
  s.root.dataset.shown = s.shown.join(",");
  if (!st || apart.length > 1) { // no exact tile here: say so until the strips come
    s.root.dataset.exact = "0";
    s.canvas.classList.add("lse-us-pending");
    s.cap.textContent = "decoding this position…";
    return;
  }
  const r = apart.length ? apart[0] : 0, k = s.shown[r];
  const [h, w] = d.tile;
  const ctx = s.canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  ctx.drawImage(st.img, k * w, r * h, w, h, 0, 0, w, h);
  s.canvas.classList.remove("lse-us-pending");
  s.root.dataset.exact = "1";
  s.root.dataset.drawnAt = performance.now().toFixed(1); // tests and the benchmark: when the tile was drawn
  s.cap.textContent = `decoded from ${d.start}` +
    (moved.length ? `, unit${moved.length > 1 ? "s" : ""} ${moved.join(", ")} moved` : "");
}

// Python's strips for position d.at: used once their picture is loaded (a later message wins)
function receive(s, d) {
  if (d.sig !== s.sig) build(s, d);
  s.d = d;
  const gen = ++s.gen, img = new Image();
  img.onload = () => {
    if (gen !== s.gen) return;
    s.strips = { img, at: d.at.slice() };
    s.root.dataset.base = d.at.join(","); // tests and the benchmark: the position the strips are around
    paint(s);
  };
  img.src = d.atlas;
  s.root.style.fontSize = (d.font_px || 16) + "px"; // the larger type of presentation size, as the page
  s.canvas.style.width = d.px + "px";
  s.canvas.style.height = Math.round(d.px * d.tile[0] / d.tile[1]) + "px";
  paint(s);
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let s = STATES.get(parentElement);
  if (!s || !parentElement.contains(s.root)) {
    s = setup(parentElement);
    STATES.set(parentElement, s);
  }
  s.report = setStateValue;
  if (data && data.units && data.units.length) receive(s, data);
  return () => { s.root.remove(); STATES.delete(parentElement); };
}
