// The 2D map: points drawn by regl-scatterplot (vendor/regl-scatterplot.js, defined just above this
// file as `ReglScatterplot`: its KDBush index answers hover, click and lasso), one WebGL renderer
// shared by every map on the page. What is ours: reading Python's message (payload.py's pack),
// colours with the non-selection greyed, the density beneath, rings, the interpolation path, the
// star and cluster labels on a 2D canvas above, the legend, the hover card with the point's
// image, and one event sent back: "event" = {click, selection, hover} of dataset indices, or
// {place: [x, y]} (map coordinates) for a click where no point is. With a decoder, the card also
// shows what the decoder draws at any place (the nearest place of a decoded lattice, asked for
// once the points are drawn: "lattice"), and a decoded grid can lie over the map.
// Nothing here decides what a selection means.

const INSTANCES = new WeakMap();
const LIVE = new Set(); // every mounted map: rebuilt together when the WebGL context comes back
const ARRAYS = new Map(); // decoded points per sig: Python sends them once per session
const IMAGES = new Map(); // hover images per images_sig
const DECODED = { lattice: new Map(), grid: new Map() }; // decoded tiles per lattice_sig / grid_sig
const VIEWS = new Map(); // the camera per view_key: kept when Streamlit mounts the map anew
const GREY = [0.75, 0.75, 0.75, 0.4]; // not selected: greyed, not hidden (rgba, 0..1)
const MISSING = [0.63, 0.63, 0.63, 0.8]; // a continuous colour's missing value
const GREY_INDEX = 256;
let RENDERER = null;
let GL_PROBLEM = null; // why this browser cannot draw the map, once known

// --------------------------------------------------------------------------- the message
function unpack(raw) {
  // a copy: the bytes Streamlit hands over may sit at any offset of a larger buffer
  const bytes = raw instanceof Uint8Array ? new Uint8Array(raw) : new Uint8Array(raw.buffer ? raw.buffer : raw);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== "LSE1") throw new Error("not a map message");
  const size = new DataView(bytes.buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size)));
  const types = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array, uint16: Uint16Array };
  const arrays = {};
  for (const [name, [off, type, len]] of Object.entries(header.arrays || {})) {
    arrays[name] = new types[type](bytes.buffer, 8 + size + off, len);
  }
  return { header, arrays };
}

// --------------------------------------------------------------------------- WebGL checks
// A vertex and a fragment shader compiled and linked once: a browser without WebGL, or whose
// WebGL cannot compile a shader (a blocked GPU, a broken driver), gets a sentence instead of a
// blank box or an exception.
function glProblem() {
  if (GL_PROBLEM !== null) return GL_PROBLEM;
  GL_PROBLEM = "";
  const gl = document.createElement("canvas").getContext("webgl");
  if (!gl) return (GL_PROBLEM = "This browser has no WebGL (it is switched off or the graphics driver is blocked): the map cannot be drawn here.");
  const shader = (type, src) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, src);
    gl.compileShader(s);
    return gl.getShaderParameter(s, gl.COMPILE_STATUS) ? s : null;
  };
  const v = shader(gl.VERTEX_SHADER, "attribute vec2 p; void main() { gl_Position = vec4(p, 0.0, 1.0); gl_PointSize = 2.0; }");
  const f = shader(gl.FRAGMENT_SHADER, "precision mediump float; void main() { gl_FragColor = vec4(1.0); }");
  const pr = gl.createProgram();
  if (v && f) { gl.attachShader(pr, v); gl.attachShader(pr, f); gl.linkProgram(pr); }
  if (!v || !f || !gl.getProgramParameter(pr, gl.LINK_STATUS)) {
    GL_PROBLEM = "This browser's WebGL cannot compile the map's shaders: the map cannot be drawn here (try another browser, or turn on hardware acceleration).";
  }
  const lose = gl.getExtension("WEBGL_lose_context");
  if (lose) lose.loseContext(); // the probe's context is not kept
  return GL_PROBLEM;
}

function renderer() {
  if (RENDERER) return RENDERER;
  // our own canvas, sized to the largest map (fitRenderer): by default the renderer's float
  // framebuffer is the whole window, every pixel of it cleared and copied on every frame
  const c = document.createElement("canvas");
  c.width = c.height = 64;
  RENDERER = ReglScatterplot.createRenderer({ canvas: c });
  c.addEventListener("webglcontextlost", (e) => {
    e.preventDefault(); // tells the browser we will redraw when it comes back
    for (const s of LIVE) say(s, "The graphics context was lost (the GPU was reset or is busy): the map is redrawn when it comes back.");
  });
  c.addEventListener("webglcontextrestored", () => {
    const old = RENDERER;
    RENDERER = null;
    for (const s of LIVE) { if (s.sp) { s.sp.destroy(); s.sp = null; } }
    try { old.destroy(); } catch (err) { /* already gone with its context */ }
    for (const s of LIVE) { say(s, null); if (s.data) plot(s); }
  });
  return RENDERER;
}

// the shared renderer as large as the largest map on the page, no larger
function fitRenderer() {
  if (!RENDERER) return;
  let side = 64;
  for (const s of LIVE) side = Math.max(side, Math.ceil(s.side || 0));
  const dpr = window.devicePixelRatio || 1;
  if (RENDERER.canvas.width !== Math.round(side * dpr)) RENDERER.resize(side, side);
}

function say(s, text) {
  s.msg.textContent = text || "";
  s.msg.style.display = text ? "block" : "none";
}

// --------------------------------------------------------------------------- set up
// a linear scale with the little of D3's API regl-scatterplot calls: it keeps it on the view
function scale() {
  let dom = [-1, 1], rng = [0, 1];
  const f = (v) => rng[0] + ((v - dom[0]) / (dom[1] - dom[0])) * (rng[1] - rng[0]);
  f.domain = (d) => (d ? ((dom = [...d]), f) : dom);
  f.range = (r) => (r ? ((rng = [...r]), f) : rng);
  f.invert = (p) => dom[0] + ((p - rng[0]) / (rng[1] - rng[0])) * (dom[1] - dom[0]);
  f.copy = () => scale().domain(dom).range(rng);
  return f;
}

function setup(parent) {
  const root = el("div", "lse-map", parent);
  const title = el("div", "lse-title", root);
  const bar = el("div", "lse-bar", root);
  const stage = el("div", "lse-stage", root);
  const under = el("canvas", "lse-under", stage); // the density of points not drawn one by one
  const glc = el("canvas", "lse-gl", stage); // regl-scatterplot draws here and takes the pointer
  const over = el("canvas", "lse-over", stage); // rings, path, star, labels
  const legend = el("div", "lse-legend", root);
  const msg = el("div", "lse-nogl", root);
  const tip = el("div", "lse-tip", root);
  const tipImgs = el("div", "lse-tip-imgs", tip);
  const tipDec = el("canvas", "lse-tip-dec", tipImgs); // what the decoder draws at the place
  const tipImg = el("canvas", "lse-tip-img", tipImgs);
  const tipRec = el("canvas", "lse-tip-rec", tipImgs);
  const tipCap = el("div", "lse-tip-cap", tip, "image · its reconstruction");
  const tipText = el("div", "lse-tip-text", tip);
  const s = { root, title, bar, stage, under, glc, over, legend, msg, tip, tipDec, tipImg, tipRec, tipCap, tipText,
              mode: "pan", hidden: new Set(), trigger: null, data: null, sp: null, listeners: [], mouse: [0, 0],
              xs: scale(), ys: scale() };
  say(s, null);
  const modes = [["pan", "Pan / click"], ["box", "Box select"], ["lasso", "Lasso select"]];
  s.modeButtons = modes.map(([m, t]) => {
    const b = el("button", "lse-btn", bar, t);
    b.dataset.mode = m;
    b.onclick = () => setMode(s, m);
    return b;
  });
  s.modeButtons[0].classList.add("on");
  el("button", "lse-btn", bar, "Reset view").onclick = () => { if (s.sp) s.sp.zoomToOrigin(); };
  el("button", "lse-btn", bar, "PNG").onclick = () => savePng(s);
  const on = (target, ev, fn) => { target.addEventListener(ev, fn); s.listeners.push(() => target.removeEventListener(ev, fn)); };
  on(glc, "mousemove", (e) => {
    const r = glc.getBoundingClientRect();
    s.mouse = [e.clientX - r.left, e.clientY - r.top];
    if (e.buttons) { s.tip.style.display = "none"; return; } // a pan or a lasso: regl-scatterplot's
    e.stopPropagation(); // no hover of regl-scatterplot's (a WebGL redraw): the card below is the hover
    if (s.hoverFrame) return;
    s.moveAt = e.timeStamp; // the page's clock (performance.now) when the pointer moved: benchmarks
    s.hoverFrame = requestAnimationFrame(() => {
      s.hoverFrame = 0;
      const i = nearest(s, s.mouse[0], s.mouse[1], Math.max(6, (s.data ? s.data.point_px : 5) + 3));
      if (i >= 0 || !s.lattice) { s.place = -1; if (i !== s.hovered) { s.hovered = i; hovered(s, i); } return; }
      s.hovered = -1;
      showPlace(s, s.mouse[0], s.mouse[1]); // empty space: what the decoder draws there
    });
  });
  on(glc, "pointerleave", () => { s.tip.style.display = "none"; s.hovered = -1; s.place = -1; });
  // a click where no point is pins that place (a click on a point is regl-scatterplot's "select")
  on(glc, "pointerdown", (e) => { s.down = [e.clientX, e.clientY]; });
  on(glc, "pointerup", (e) => {
    const d = s.data, moved = s.down ? Math.hypot(e.clientX - s.down[0], e.clientY - s.down[1]) : 99;
    s.down = null;
    if (!d || !d.decodes || s.mode !== "pan" || moved > 4 || !s.trigger) return;
    const r = glc.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
    if (nearest(s, x, y, Math.max(6, (d.point_px || 5) + 3)) >= 0) return;
    const [u, v] = [(s.xs.invert(x) + 1) / 2, (s.ys.invert(y) + 1) / 2], f = d.frame;
    s.pinned = [u, v];
    drawLayers(s);
    s.trigger("event", { click: null, selection: null, hover: null, place: [(u - 0.5) * f[2] + f[0], (v - 0.5) * f[2] + f[1]] });
  });
  // for tests and benchmarks: each shown point's place on the page and its dataset index (every
  // `step`th of them)
  root.lseScreen = (step = 1) => {
    const r = s.glc.getBoundingClientRect(), out = [];
    if (!s.data || !s.u) return out;
    for (let i = 0; i < s.data.n; i += step) {
      if (s.data.categorical && s.hidden.has(s.cat[i])) continue;
      out.push([r.left + s.xs(2 * s.u[i] - 1), r.top + s.ys(2 * s.v[i] - 1), s.ids[i]]);
    }
    return out;
  };
  const ro = new ResizeObserver(() => resize(s));
  ro.observe(root);
  s.listeners.push(() => ro.disconnect());
  return s;
}

function setMode(s, m) {
  s.mode = m;
  s.modeButtons.forEach((x) => x.classList.toggle("on", x.dataset.mode === m));
  if (s.sp) s.sp.set({ mouseMode: m === "pan" ? "panZoom" : "lasso", lassoType: m === "box" ? "rectangle" : "freeform" });
}

// the plot: a square as wide as the column allows (one scale on both axes), under the toolbar
function resize(s) {
  const w = Math.max(50, s.root.getBoundingClientRect().width);
  const top = s.bar.offsetTop + s.bar.offsetHeight + 6;
  const legendW = s.data && s.data.show_legend && s.legend.offsetWidth ? s.legend.offsetWidth + 12 : 0;
  const side = Math.max(120, Math.min(w - legendW, (s.data ? s.data.height : 560) - top));
  s.root.style.height = top + side + "px";
  Object.assign(s.stage.style, { top: top + "px", left: (w - legendW - side) / 2 + "px", width: side + "px", height: side + "px" });
  s.legend.style.top = top + "px";
  s.side = side;
  const dpr = window.devicePixelRatio || 1;
  for (const c of [s.under, s.over]) {
    c.width = Math.round(side * dpr); c.height = Math.round(side * dpr);
    c.style.width = side + "px"; c.style.height = side + "px";
  }
  s.dpr = dpr;
  fitRenderer();
  if (s.sp) s.sp.set({ width: side, height: side });
  else { s.glc.style.width = side + "px"; s.glc.style.height = side + "px"; }
  s.xs.range([0, side]); s.ys.range([side, 0]);
  drawLayers(s);
}

// --------------------------------------------------------------------------- data
function update(s, raw) {
  let msg;
  try { msg = unpack(raw); } catch (err) { say(s, `The map's data could not be read: ${err.message}`); return; }
  const d = msg.header, a = msg.arrays;
  let pts = ARRAYS.get(d.sig);
  if (!pts) {
    if (d.cached) { if (s.trigger) s.trigger("resend", true); return; } // sent before, lost by a reload
    const x = new Float32Array(d.n), y = new Float32Array(d.n); // regl-scatterplot's -1..1
    for (let i = 0; i < d.n; i++) { x[i] = 2 * a.x[i] - 1; y[i] = 2 * a.y[i] - 1; }
    pts = { u: a.x, v: a.y, x, y, ids: a.ids, cat: a.c, lab: a.labels || null, err: a.errors || null, n: d.n,
            density: a.density ? densityImage(d.density, a.density) : null };
    pts.grid = grid(pts.u, pts.v, d.n);
    ARRAYS.set(d.sig, pts);
    while (ARRAYS.size > 8) ARRAYS.delete(ARRAYS.keys().next().value);
  }
  for (const part of ["lattice", "grid"]) {
    const sig = d[part + "_sig"], kept = DECODED[part];
    if (sig && !kept.has(sig)) {
      if (d[part + "_cached"]) { if (s.trigger) s.trigger("resend", true); } else if (d[part]) {
        kept.set(sig, { ...d[part], px: a[part], span: d[part + "_span"] });
        while (kept.size > 4) kept.delete(kept.keys().next().value);
      }
    }
  }
  let ims = IMAGES.get(d.images_sig);
  if (!ims) {
    if (d.images_cached) { if (s.trigger) s.trigger("resend", true); ims = {}; } else {
      ims = {};
      for (const part of ["thumbs", "recon_thumbs"]) if (d[part]) ims[part] = { ...d[part], px: a[part] };
      IMAGES.set(d.images_sig, ims);
      while (IMAGES.size > 8) IMAGES.delete(IMAGES.keys().next().value);
    }
  }
  const fresh = !s.data || s.sig !== d.sig;
  // what regl-scatterplot was given: the same again (a rerun for a click, a tab) redraws only our
  // layers, not every point (a frame of software WebGL is a tenth of a second)
  const look = `${d.sig}|${d.palette.length}|${a.selected ? selKey(a.selected) : "-"}`;
  const same = s.sp && look === s.look && !fresh;
  s.look = look;
  const newView = !s.data || d.view_key !== s.data.view_key;
  s.data = d;
  s.sig = d.sig;
  s.hovered = -1;
  Object.assign(s, pts);
  s.thumbs = ims.thumbs || null;
  s.recThumbs = ims.recon_thumbs || null;
  s.lattice = (d.lattice_sig && DECODED.lattice.get(d.lattice_sig)) || null;
  const tiles = (d.grid_sig && DECODED.grid.get(d.grid_sig)) || null;
  if (tiles !== s.gridTiles) { s.gridTiles = tiles; s.gridImage = tiles ? atlas(tiles) : null; s.gridShown = null; }
  s.pinned = d.place || null;
  s.root.dataset.lattice = s.lattice ? String(s.lattice.span.n) : "0";
  s.root.dataset.thumbs = s.thumbs ? "1" : "0";
  s.root.dataset.recThumbs = s.recThumbs ? "1" : "0";
  s.sel = a.selected || null;
  if (newView) s.hidden = new Set();
  s.title.textContent = d.title || "";
  s.title.style.display = d.title ? "block" : "none";
  drawLegend(s);
  resize(s);
  if (GL_PROBLEM || glProblem()) { say(s, GL_PROBLEM); return; }
  if (same) { marks(s); drawLayers(s); askLattice(s); return; }
  plot(s, fresh, newView);
}

// the decoded lattice is asked for once the points are drawn (never with them: it is a few MB
// and a second of decoding the first time), once per view
function askLattice(s) {
  const d = s.data;
  if (d && d.decodes && !d.lattice_sig && s.asked !== d.view_key && s.trigger) {
    s.asked = d.view_key;
    s.trigger("lattice", d.view_key);
  }
}

// the colour of each point: index k < 255 its palette colour, 255 a missing value, 256 greyed
function pointColours(d) {
  const out = [];
  for (let k = 0; k < 255; k++) out.push(d.palette[k % d.palette.length]);
  out.push(MISSING, GREY);
  return out;
}

function valueA(s) {
  const n = s.data.n, out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = s.sel && !s.sel[i] ? GREY_INDEX : s.cat[i];
  return out;
}

// Points to regl-scatterplot: all of them on a new map, only their colours after a selection
function plot(s, fresh = true, newView = true) {
  const d = s.data, n = d.n;
  try {
    if (!s.sp) {
      s.sp = ReglScatterplot.default({
        renderer: (renderer(), fitRenderer(), RENDERER), canvas: s.glc, width: s.side, height: s.side, xScale: s.xs, yScale: s.ys,
        syncEvents: true, backgroundColor: [1, 1, 1, 0], pointColorHover: "#111111", pointColorActive: "#111111",
        deselectOnDblClick: false, deselectOnEscape: false, lassoColor: [0.2, 0.2, 0.2, 1], lassoMinDelay: 5,
        opacity: 0.85, performanceMode: false,
      });
      wireEvents(s);
      fresh = true;
    }
    s.sp.set({ pointSize: d.point_px || 5, pointColor: pointColours(d), colorBy: "valueA",
               pointOrder: order(s) });
    const drawn = redraw(s, !fresh);
    if (newView) {
      const view = VIEWS.get(d.view_key);
      if (view) s.sp.set({ cameraView: view });
    }
    applyHidden(s);
    drawn.then(() => requestAnimationFrame(() => {
      drawLayers(s);
      const count = String(n - hiddenCount(s));
      if (s.root.dataset.drawn !== count) { // when this many were first drawn (benchmarks)
        s.root.dataset.drawnAt = performance.now().toFixed(1);
        s.root.dataset.drawn = count;
      }
      askLattice(s);
    }));
  } catch (err) {
    say(s, `The map could not be drawn: ${err.message}`);
  }
  marks(s);
}

// for tests: what the map shows marked
function marks(s) {
  const d = s.data;
  s.root.dataset.picked = String((d.picked || []).length);
  s.root.dataset.marker = d.marker ? "1" : "0";
  s.root.dataset.selected = String(s.sel ? s.sel.reduce((t, v) => t + v, 0) : 0);
}

function selKey(sel) {
  let h = 0, k = 0;
  for (let i = 0; i < sel.length; i++) if (sel[i]) { h = (h * 31 + i) | 0; k++; }
  return `${k}:${h}`;
}

// the points to regl-scatterplot; after the first draw of these points, with their KDBush index
// (kept per sig), so a new selection or a remount does not index them again
function redraw(s, keepFilter) {
  const pts = ARRAYS.get(s.sig);
  const opts = { zDataType: "categorical", preventFilterReset: keepFilter };
  if (pts && pts.spatialIndex) opts.spatialIndex = pts.spatialIndex;
  const sp = s.sp;
  return sp.draw({ x: s.x, y: s.y, valueA: valueA(s) }, opts).then(() => {
    if (pts && !pts.spatialIndex && !sp.get("isDestroyed")) pts.spatialIndex = sp.get("spatialIndex");
  });
}

function order(s) {
  if (!s.sel) return null;
  const n = s.data.n, out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) if (!s.sel[i]) out[k++] = i; // the greyed first, the selection on top
  for (let i = 0; i < n; i++) if (s.sel[i]) out[k++] = i;
  return Array.from(out);
}

function hiddenCount(s) {
  if (!s.data.categorical || !s.hidden.size) return 0;
  let k = 0;
  for (let i = 0; i < s.data.n; i++) if (s.hidden.has(s.cat[i])) k++;
  return k;
}

function applyHidden(s) {
  if (!s.sp) return;
  if (!s.data.categorical || !s.hidden.size) { if (s.sp.get("isPointsFiltered")) s.sp.unfilter({ preventEvent: true }); return; }
  const keep = [];
  for (let i = 0; i < s.data.n; i++) if (!s.hidden.has(s.cat[i])) keep.push(i);
  s.sp.filter(keep, { preventEvent: true });
}

// regl-scatterplot's events -> one "event" {click, selection, hover} of dataset indices
function wireEvents(s) {
  const sp = s.sp;
  let lassoing = false, hoverTimer = 0;
  const send = (ev) => { if (s.trigger) s.trigger("event", { click: null, selection: null, hover: null, ...ev }); };
  sp.subscribe("lassoStart", () => { lassoing = true; s.tip.style.display = "none"; });
  sp.subscribe("select", ({ points }) => {
    const wasLasso = lassoing;
    lassoing = false;
    setTimeout(() => sp.deselect({ preventEvent: true }), 0); // our colours show the selection, not its own
    if (wasLasso) {
      if (!points.length) return; // an empty box keeps the selection
      s.sel = new Uint8Array(s.data.n); // greyed at once; the next run confirms it
      for (const i of points) s.sel[i] = 1;
      sp.set({ pointOrder: order(s) });
      redraw(s, true).catch(() => {});
      s.look = `${s.sig}|${s.data.palette.length}|${selKey(s.sel)}`; // the run that confirms it draws nothing again
      s.root.dataset.selected = String(points.length);
      send({ selection: Array.from(points, (i) => s.ids[i]) });
    } else if (points.length === 1) {
      s.tip.style.display = "none";
      send({ click: s.ids[points[0]] });
    }
  });
  sp.subscribe("lassoEnd", () => { lassoing = false; });
  s.onHover = (i) => {
    if (i >= 0 && s.data.report_hover) { clearTimeout(hoverTimer); hoverTimer = setTimeout(() => send({ hover: s.ids[i] }), 250); }
  };
  sp.subscribe("view", () => {
    if (s.data) VIEWS.set(s.data.view_key, sp.get("cameraView"));
    drawLayers(s);
  });
}

// --------------------------------------------------------------------------- hover
// The hover card is ours, not regl-scatterplot's: its hover redraws the whole WebGL frame on every
// new point (a frame of software WebGL is a tenth of a second), while the card needs none. Points
// are bucketed once per map into a grid over the unit square (a counting sort), so a pointer move
// looks at the few cells within reach, not at every point; clicks and lassos stay the library's
// (its KDBush index).
function grid(u, v, n) {
  const g = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n / 4))));
  const cell = new Int32Array(n), start = new Int32Array(g * g + 1);
  for (let i = 0; i < n; i++) {
    const cx = Math.min(g - 1, Math.max(0, Math.floor(u[i] * g))), cy = Math.min(g - 1, Math.max(0, Math.floor(v[i] * g)));
    cell[i] = cy * g + cx;
    start[cell[i] + 1]++;
  }
  for (let c = 0; c < g * g; c++) start[c + 1] += start[c];
  const fill = start.slice(0, g * g), items = new Int32Array(n);
  for (let i = 0; i < n; i++) items[fill[cell[i]]++] = i;
  return { g, start, items };
}

// the shown point nearest to the pointer (plot pixels), within `radius` px, or -1
function nearest(s, px, py, radius) {
  const G = s.grid;
  if (!G || !s.side) return -1;
  const u = (s.xs.invert(px) + 1) / 2, v = (s.ys.invert(py) + 1) / 2;
  const ru = Math.abs((s.xs.invert(px + radius) - s.xs.invert(px)) / 2);
  const x0 = Math.max(0, Math.floor((u - ru) * G.g)), x1 = Math.min(G.g - 1, Math.floor((u + ru) * G.g));
  const y0 = Math.max(0, Math.floor((v - ru) * G.g)), y1 = Math.min(G.g - 1, Math.floor((v + ru) * G.g));
  let best = -1, bd = ru * ru;
  for (let cy = y0; cy <= y1; cy++) for (let cx = x0; cx <= x1; cx++) {
    const c = cy * G.g + cx;
    for (let k = G.start[c]; k < G.start[c + 1]; k++) {
      const i = G.items[k];
      if (s.data.categorical && s.hidden.has(s.cat[i])) continue;
      const dd = (s.u[i] - u) ** 2 + (s.v[i] - v) ** 2;
      if (dd < bd) { bd = dd; best = i; }
    }
  }
  return best;
}

// --------------------------------------------------------------------------- layers
function densityImage(d, vals) {
  const c = document.createElement("canvas");
  c.width = d.nx; c.height = d.ny;
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(d.nx, d.ny);
  for (let q = 0; q < d.nx * d.ny; q++) { // row 0 is the top
    img.data[4 * q] = 90; img.data[4 * q + 1] = 90; img.data[4 * q + 2] = 90; img.data[4 * q + 3] = vals[q];
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

// unit-square coordinates (0..1, y up) to pixels of the plot, through regl-scatterplot's view
function px(s, u, v) { return [s.xs(2 * u - 1), s.ys(2 * v - 1)]; }

// decoded tiles (n*n, h, w, c), row by row from the top, as one n*w x n*h picture: the grid layer
// is one drawImage however it is panned or zoomed
function atlas(t) {
  const n = t.span.n, c = document.createElement("canvas");
  c.width = n * t.w; c.height = n * t.h;
  const img = new ImageData(c.width, c.height), per = t.w * t.h * t.c;
  for (let k = 0; k < n * n; k++) {
    const ox = (k % n) * t.w, oy = Math.floor(k / n) * t.h;
    for (let q = 0; q < t.w * t.h; q++) {
      const o = 4 * ((oy + Math.floor(q / t.w)) * c.width + ox + (q % t.w));
      for (let ch = 0; ch < 3; ch++) img.data[o + ch] = t.px[k * per + (t.c === 3 ? q * 3 + ch : q)];
      img.data[o + 3] = 255;
    }
  }
  c.getContext("2d").putImageData(img, 0, 0);
  return c;
}

// the grid layer: each tile centred on its place, a tile as wide as the step between places
function drawGrid(s, ctx) {
  const t = s.gridTiles, sp = t.span, n = sp.n;
  const du = (sp.u1 - sp.u0) / (n - 1), dv = (sp.v1 - sp.v0) / (n - 1);
  const [x0, y0] = px(s, sp.u0 - du / 2, sp.v1 + dv / 2), [x1, y1] = px(s, sp.u1 + du / 2, sp.v0 - dv / 2);
  ctx.save();
  ctx.imageSmoothingEnabled = false;
  ctx.globalAlpha = 0.92;
  ctx.drawImage(s.gridImage, x0, y0, x1 - x0, y1 - y0);
  ctx.restore();
  if (s.gridShown !== t) { // tests and benchmarks: when this grid was first on the map
    s.gridShown = t;
    s.root.dataset.grid = String(n);
    s.root.dataset.gridDrawnAt = performance.now().toFixed(1);
  }
}

// a 2-unit code's own plane: its axes named, the view's range at their ends (map coordinates)
function drawAxes(s, ctx) {
  const d = s.data, f = d.frame, fs = d.font_px || 14;
  const mx = (x) => ((s.xs.invert(x) + 1) / 2 - 0.5) * f[2] + f[0];
  const my = (y) => ((s.ys.invert(y) + 1) / 2 - 0.5) * f[2] + f[1];
  ctx.save();
  ctx.fillStyle = "#333"; ctx.font = `${fs}px sans-serif`;
  ctx.textBaseline = "bottom"; ctx.textAlign = "center";
  ctx.fillText(`${d.axes[0]} →`, s.side / 2, s.side - 2);
  ctx.textAlign = "left"; ctx.fillText(mx(0).toPrecision(3), 2, s.side - 2);
  ctx.textAlign = "right"; ctx.fillText(mx(s.side).toPrecision(3), s.side - 2, s.side - 2);
  ctx.translate(fs + 2, s.side / 2); ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center"; ctx.fillText(`${d.axes[1]} →`, 0, 0);
  ctx.rotate(Math.PI / 2); ctx.translate(-(fs + 2), -s.side / 2);
  ctx.textBaseline = "top"; ctx.textAlign = "left";
  ctx.fillText(my(0).toPrecision(3), 2, 2);
  ctx.restore();
}

function drawLayers(s) {
  const d = s.data;
  if (!d || !s.side) return;
  const uc = s.under.getContext("2d");
  uc.setTransform(s.dpr, 0, 0, s.dpr, 0, 0);
  uc.clearRect(0, 0, s.side, s.side);
  if (s.density) {
    const [x0, y0] = px(s, 0, 1), [x1, y1] = px(s, 1, 0);
    uc.imageSmoothingEnabled = true;
    uc.drawImage(s.density, x0, y0, x1 - x0, y1 - y0);
  }
  const ctx = s.over.getContext("2d");
  ctx.setTransform(s.dpr, 0, 0, s.dpr, 0, 0);
  ctx.clearRect(0, 0, s.side, s.side);
  if (s.gridTiles) drawGrid(s, ctx);
  if (d.axes) drawAxes(s, ctx);
  if (s.pinned) { // a pinned place: a cross in a ring
    const [x, y] = px(s, s.pinned[0], s.pinned[1]);
    ctx.strokeStyle = "#d62828"; ctx.lineWidth = 2.5; ctx.beginPath(); ctx.arc(x, y, 9, 0, 7);
    ctx.moveTo(x - 13, y); ctx.lineTo(x + 13, y); ctx.moveTo(x, y - 13); ctx.lineTo(x, y + 13); ctx.stroke();
  }
  if (d.path && d.path.length) {
    ctx.strokeStyle = "#111"; ctx.lineWidth = 3; ctx.beginPath();
    d.path.forEach(([u, v], i) => { const [x, y] = px(s, u, v); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.stroke();
    ctx.fillStyle = "#111";
    for (const [u, v] of d.path) { const [x, y] = px(s, u, v); ctx.beginPath(); ctx.arc(x, y, 4, 0, 7); ctx.fill(); }
  }
  ctx.strokeStyle = "#111"; ctx.lineWidth = 2.5;
  for (const [u, v] of d.picked || []) {
    const [x, y] = px(s, u, v); ctx.beginPath(); ctx.arc(x, y, (d.point_px || 5) + 5, 0, 7); ctx.stroke();
  }
  if (d.marker) { const [x, y] = px(s, d.marker[0], d.marker[1]); star(ctx, x, y, 13); }
  const fs = d.font_px || 14;
  ctx.font = `bold ${fs + 4}px sans-serif`;
  ctx.textAlign = "center"; ctx.textBaseline = "middle";
  for (const c of d.cluster_labels || []) {
    const [x, y] = px(s, c.u, c.v);
    const w = ctx.measureText(c.text).width + 10;
    ctx.fillStyle = "rgba(255,255,255,0.75)"; ctx.fillRect(x - w / 2, y - fs * 0.75, w, fs * 1.5);
    ctx.fillStyle = "#111"; ctx.fillText(c.text, x, y);
  }
}

function star(ctx, x, y, r) {
  ctx.beginPath();
  for (let i = 0; i < 10; i++) {
    const rr = i % 2 ? r * 0.45 : r, t = -Math.PI / 2 + (i * Math.PI) / 5;
    ctx.lineTo(x + rr * Math.cos(t), y + rr * Math.sin(t));
  }
  ctx.closePath(); ctx.fillStyle = "#ffbe0b"; ctx.fill(); ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5; ctx.stroke();
}

function drawLegend(s) {
  const d = s.data, L = s.legend;
  L.replaceChildren();
  L.style.display = d.show_legend ? "block" : "none";
  for (const e of [L, s.tip, s.bar, s.title]) e.style.fontSize = (d.font_px || 14) + "px";
  if (d.legend_title) el("div", "lse-legend-title", L, d.legend_title);
  if (d.categorical) {
    d.legend.forEach(([name, ci]) => {
      const row = el("div", "lse-legend-row" + (s.hidden.has(ci) ? " off" : ""), L);
      el("span", "lse-swatch", row).style.background = d.palette[ci % d.palette.length];
      el("span", "", row, name);
      row.title = "Click to hide or show";
      row.onclick = () => { s.hidden.has(ci) ? s.hidden.delete(ci) : s.hidden.add(ci); drawLegend(s); applyHidden(s); };
    });
  } else if (d.colorbar) {
    const bar = el("div", "lse-ramp", L);
    bar.style.background = `linear-gradient(to top, ${d.palette.filter((_, i) => i % 32 === 0 || i === 254).join(",")})`;
    const ticks = el("div", "lse-ramp-ticks", L);
    el("span", "", ticks, d.colorbar.hi);
    el("span", "", ticks, d.colorbar.lo);
  }
}

function savePng(s) {
  const c = document.createElement("canvas");
  c.width = s.over.width; c.height = s.over.height;
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height);
  for (const layer of [s.under, s.glc, s.over]) ctx.drawImage(layer, 0, 0, c.width, c.height);
  const a = document.createElement("a");
  a.href = c.toDataURL("image/png");
  a.download = (s.data.file_name || "map") + ".png";
  a.click();
}

// --------------------------------------------------------------------------- hover card
// Point i's picture from the thumbnails `t` (n, h, w, c) into `canvas`, `side` px, unsmoothed.
function tipImage(canvas, t, i, side) {
  if (!t) { canvas.style.display = "none"; return; }
  const px0 = t.w * t.h * t.c, img = new ImageData(t.w, t.h);
  for (let q = 0; q < t.w * t.h; q++) {
    for (let ch = 0; ch < 3; ch++) img.data[4 * q + ch] = t.px[i * px0 + (t.c === 3 ? q * 3 + ch : q)];
    img.data[4 * q + 3] = 255;
  }
  const tmp = document.createElement("canvas");
  tmp.width = t.w; tmp.height = t.h;
  tmp.getContext("2d").putImageData(img, 0, 0);
  canvas.width = side; canvas.height = side;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, side, side);
  canvas.style.display = "block";
}

function hovered(s, i) {
  showTip(s, i);
  if (s.onHover) s.onHover(i);
}

// the card where no point is: what the decoder draws at the nearest lattice place, beside the
// nearest real image; a place beyond the lattice (the map's range) is held to its edge and says so
function showPlace(s, mx, my) {
  const d = s.data, L = s.lattice, sp = L.span, n = sp.n;
  const u = (s.xs.invert(mx) + 1) / 2, v = (s.ys.invert(my) + 1) / 2;
  const cu = Math.min(sp.u1, Math.max(sp.u0, u)), cv = Math.min(sp.v1, Math.max(sp.v0, v));
  const held = cu !== u || cv !== v;
  const col = Math.round(((cu - sp.u0) / (sp.u1 - sp.u0)) * (n - 1));
  const row = Math.round(((sp.v1 - cv) / (sp.v1 - sp.v0)) * (n - 1)); // row 0 is the top
  const k = row * n + col, side = d.thumb_px || 112;
  let j = -1; // the nearest shown point, searched outwards
  for (const r of [40, 160, 4 * s.side]) { j = nearest(s, mx, my, r); if (j >= 0) break; }
  if (k !== s.place) tipImage(s.tipDec, L, k, side);
  s.place = k;
  tipImage(s.tipImg, j >= 0 ? s.thumbs : null, j, side);
  s.tipRec.style.display = "none";
  const f = d.frame, x = (u - 0.5) * f[2] + f[0], y = (v - 0.5) * f[2] + f[1];
  s.tipCap.textContent = j >= 0 && s.thumbs ? "decoded here · the nearest image" : "decoded here";
  s.tipCap.style.display = "block";
  const near = j >= 0 ? ` · nearest #${s.ids[j]}` + (s.lab ? ` (label ${(d.label_names || [])[s.lab[j]] ?? s.lab[j]})` : "") : "";
  s.tipText.textContent = `(${x.toPrecision(3)}, ${y.toPrecision(3)})` + near;
  s.tipNote = s.tipNote || el("div", "lse-tip-note", s.tip);
  s.tipNote.textContent = held ? `outside the map: held to its edge, decoded at the nearest of ${n} × ${n} places`
                               : `decoded at the nearest of ${n} × ${n} places`;
  s.tipNote.style.display = "block";
  s.tip.style.display = "block";
  s.root.dataset.decoded = String(k); // tests and benchmarks: which place's image is on the card, since when
  s.root.dataset.decodedHeld = held ? "1" : "0";
  s.root.dataset.decodedAt = performance.now().toFixed(1);
  s.root.dataset.movedAt = (s.moveAt || 0).toFixed(1);
  placeTip(s);
}

function placeTip(s) {
  const w = s.root.getBoundingClientRect().width, h = s.root.offsetHeight;
  const x = s.stage.offsetLeft + s.mouse[0], y = s.stage.offsetTop + s.mouse[1];
  const tw = s.tip.offsetWidth, th = s.tip.offsetHeight;
  s.tip.style.left = Math.max(4, Math.min(x + 14, w - tw - 4)) + "px";
  s.tip.style.top = Math.max(4, Math.min(y + 14, h - th - 4)) + "px";
}

function showTip(s, i) {
  const d = s.data;
  if (i < 0 || !d) { s.tip.style.display = "none"; return; }
  const parts = [`#${s.ids[i]}`];
  if (s.lab) parts.push(`label ${(d.label_names || [])[s.lab[i]] ?? s.lab[i]}`);
  if (s.err) parts.push(`error ${s.err[i].toFixed(4)}`);
  s.tipText.textContent = parts.join(" · ");
  const side = d.thumb_px || 112;
  s.tipDec.style.display = "none";
  if (s.tipNote) s.tipNote.style.display = "none";
  tipImage(s.tipImg, s.thumbs, i, side);
  tipImage(s.tipRec, s.thumbs && s.recThumbs, i, side); // beside the image only
  s.tipCap.textContent = "image · its reconstruction";
  s.tipCap.style.display = s.thumbs && s.recThumbs ? "block" : "none";
  s.tip.style.display = "block";
  s.root.dataset.hovered = String(s.ids[i]); // tests and benchmarks: whose card is up
  s.root.dataset.hoveredAt = performance.now().toFixed(1);
  s.root.dataset.movedAt = (s.moveAt || 0).toFixed(1);
  placeTip(s);
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let s = INSTANCES.get(parentElement);
  if (!s || !parentElement.contains(s.root)) {
    s = setup(parentElement);
    INSTANCES.set(parentElement, s);
    LIVE.add(s);
  }
  s.trigger = setTriggerValue;
  if (data) update(s, data);
  return () => {
    s.listeners.forEach((off) => off());
    if (s.sp) s.sp.destroy();
    s.root.remove();
    INSTANCES.delete(parentElement);
    LIVE.delete(s);
  };
}
