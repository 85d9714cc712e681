// The Latent space map: every point drawn with WebGL, pan and zoom, box and lasso selection, a
// click that picks a point, and a hover card with the point's image. Python (dashboard/components/latent_map/canvas.py)
// sends the points as base64 typed arrays and the images as a URL; the map answers with trigger values "click" (one
// dataset index) and "selection" (a list of them). Nothing here decides what a selection means.

const INSTANCES = new WeakMap();
const ARRAYS = new Map(); // decoded points per data.sig: Python sends them once per session
const VIEWS = new Map(); // zoom and pan per view_key: kept when Streamlit mounts the map anew
const GREY = [190, 190, 190, 90]; // not selected: greyed, not hidden

function b64(s, Type) {
  if (!s) return null;
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Type(bytes.buffer);
}

function hexRgb(h) {
  const v = parseInt(h.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

const VERT = `attribute vec2 p; attribute vec4 c; uniform vec2 k; uniform vec2 o; uniform float sz;
varying vec4 vc; void main() { gl_Position = vec4(p * k + o, 0.0, 1.0); gl_PointSize = sz; vc = c; }`;
const FRAG = `precision mediump float; varying vec4 vc; void main() {
  vec2 d = gl_PointCoord - 0.5; float r = dot(d, d); if (r > 0.25) discard;
  gl_FragColor = vec4(vc.rgb * vc.a, vc.a); }`;

function program(gl) {
  const make = (type, src) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, src);
    gl.compileShader(s);
    return s;
  };
  const pr = gl.createProgram();
  gl.attachShader(pr, make(gl.VERTEX_SHADER, VERT));
  gl.attachShader(pr, make(gl.FRAGMENT_SHADER, FRAG));
  gl.linkProgram(pr);
  return pr;
}

function el(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function setup(parent) {
  const root = el("div", "lse-map", parent);
  const under = el("canvas", "lse-under", root); // the density of points not drawn one by one
  const glc = el("canvas", "lse-gl", root);
  const over = el("canvas", "lse-over", root); // rings, path, star, labels, the box or lasso
  const bar = el("div", "lse-bar", root);
  const legend = el("div", "lse-legend", root);
  const tip = el("div", "lse-tip", root);
  const tipImgs = el("div", "lse-tip-imgs", tip);
  const tipImg = el("canvas", "lse-tip-img", tipImgs); // the point's image
  const tipRec = el("canvas", "lse-tip-rec", tipImgs); // and its reconstruction, when there is one
  const tipCap = el("div", "lse-tip-cap", tip, "image · its reconstruction");
  const tipText = el("div", "lse-tip-text", tip);
  const gl = glc.getContext("webgl", { preserveDrawingBuffer: true, premultipliedAlpha: true, antialias: false });
  const s = { root, under, glc, over, bar, legend, tip, tipImg, tipRec, tipCap, tipText, gl, mode: "pan", view: null,
              hidden: new Set(), trigger: null, data: null, sig: null, listeners: [], top: 44 };
  if (!gl) {
    el("div", "lse-nogl", root, "This browser has no WebGL: the map cannot be drawn here.");
    return s;
  }
  s.prog = program(gl);
  s.pbuf = gl.createBuffer();
  s.cbuf = gl.createBuffer();
  const modes = [["pan", "Pan / click"], ["box", "Box select"], ["lasso", "Lasso select"]];
  s.modeButtons = modes.map(([m, t]) => {
    const b = el("button", "lse-btn", bar, t);
    b.dataset.mode = m;
    b.onclick = () => { s.mode = m; s.modeButtons.forEach((x) => x.classList.toggle("on", x.dataset.mode === m)); };
    return b;
  });
  s.modeButtons[0].classList.add("on");
  el("button", "lse-btn", bar, "Reset view").onclick = () => { s.view = fullView(); draw(s); };
  el("button", "lse-btn", bar, "PNG").onclick = () => savePng(s);
  wire(s);
  // for tests and benchmarks: each shown point's place on the page, and its dataset index
  root.lseScreen = () => {
    const a = area(s), r = s.over.getBoundingClientRect(), out = [];
    for (let i = 0; s.data && i < s.data.n; i++) {
      if (s.data.categorical && s.hidden.has(s.cat[i])) continue;
      const [x, y] = toPx(s, a, s.u[i], s.v[i]);
      out.push([r.left + x, r.top + y, s.ids[i]]);
    }
    return out;
  };
  const ro = new ResizeObserver(() => { resize(s); draw(s); });
  ro.observe(root);
  s.listeners.push(() => ro.disconnect());
  return s;
}

function fullView() { return { k: 1, x: 0, y: 0 }; } // zoom, and pan in plot pixels

function resize(s) {
  const r = s.root.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  s.w = Math.max(50, r.width);
  // no taller than the square plot needs (the map keeps one scale on both axes)
  const legendW = s.legend.offsetWidth ? s.legend.offsetWidth + 16 : 12;
  s.top = barBottom(s);  // read here, not in area(): that runs on every pointer move
  s.h = Math.min(s.data ? s.data.height : 560, Math.max(300, s.w - legendW + s.top - 4));
  s.root.style.height = s.h + "px";
  s.legend.style.top = s.top + "px";
  s.legend.style.maxHeight = `calc(100% - ${s.top + 8}px)`;
  for (const c of [s.under, s.glc, s.over]) {
    c.width = Math.round(s.w * dpr);
    c.height = Math.round(s.h * dpr);
    c.style.width = s.w + "px";
    c.style.height = s.h + "px";
  }
  s.dpr = dpr;
}

// below the toolbar, which wraps onto a second row in a narrow column at presentation size
function barBottom(s) {
  return s.bar.offsetHeight ? s.bar.offsetTop + s.bar.offsetHeight + 8 : 44;
}

// plot area inside the canvas (CSS pixels): a margin for the toolbar and the legend
function area(s) {
  const right = s.legend.offsetWidth ? s.legend.offsetWidth + 16 : 12;
  const side = Math.min(s.w - right - 12, s.h - s.top - 8);
  return { x0: 12 + (s.w - right - 12 - side) / 2, y0: s.top, side: Math.max(side, 10) };
}

// normalised point coordinates (0..1, y up) to CSS pixels and back
function toPx(s, a, u, v) {
  return [a.x0 + (u * a.side) * s.view.k + s.view.x, a.y0 + ((1 - v) * a.side) * s.view.k + s.view.y];
}
function toUv(s, a, px, py) {
  return [(px - a.x0 - s.view.x) / (a.side * s.view.k), 1 - (py - a.y0 - s.view.y) / (a.side * s.view.k)];
}

function decode(data) {
  return { u: b64(data.x, Float32Array), v: b64(data.y, Float32Array), ids: b64(data.ids, Int32Array),
           cat: b64(data.c, Uint8Array), lab: data.labels ? b64(data.labels, Uint16Array) : null,
           err: data.errors ? b64(data.errors, Float32Array) : null,
           n: data.n, thumbs: null, recThumbs: null, // fetched after the first draw (fetchThumbs)
           density: data.density ? densityImage(data.density) : null };
}

function update(s, data) {
  let arrays = ARRAYS.get(data.sig);
  if (!arrays) {
    if (data.cached) { // sent to this session before, but this page does not have it (reloaded)
      if (s.trigger) s.trigger("resend", true);
      return;
    }
    arrays = decode(data);
    ARRAYS.set(data.sig, arrays);
    while (ARRAYS.size > 4) ARRAYS.delete(ARRAYS.keys().next().value);
  }
  const fresh = !s.data || data.view_key !== s.data.view_key;
  s.data = data;
  const n = data.n;
  Object.assign(s, arrays);
  s.sel = data.selected ? b64(data.selected, Uint8Array) : null;
  if (fresh) { s.view = VIEWS.get(data.view_key) || fullView(); s.hidden = new Set(); }
  s.size = (data.point_px || 5);
  drawLegend(s);
  resize(s);
  colours(s, n);
  draw(s);
  for (const [slot, t] of [["thumbs", data.thumbs], ["recThumbs", data.recon_thumbs]]) {
    fetchThumbs(s, arrays, t, slot);
    s.root.dataset[slot] = s[slot] ? "1" : "0"; // data-thumbs, data-rec-thumbs: loaded (tests)
  }
}

// The hover card's images (MBs, from a URL of Streamlit's media files), fetched once the points
// are drawn, so that they never hold up the map; until they arrive the card shows text only. A
// failed fetch is tried again once (another session's run may have been clearing files).
function fetchThumbs(s, arrays, t, slot, retry = 1) {
  const url = slot + "Url";
  if (!t || !t.url || arrays[url] === t.url) return; // loaded, or on the way
  arrays[url] = t.url;
  if (arrays[slot]) { // other images for the same points: not the old ones meanwhile
    arrays[slot] = null;
    if (s.u === arrays.u) s[slot] = null;
  }
  const failed = () => {
    if (arrays[url] !== t.url) return;
    arrays[url] = null;
    if (retry > 0) setTimeout(() => fetchThumbs(s, arrays, t, slot, retry - 1), 1000);
  };
  fetch(t.url).then((r) => (r.ok ? r.arrayBuffer() : null)).then((buf) => {
    if (!buf || buf.byteLength !== arrays.n * t.w * t.h * t.c) { failed(); return; }
    if (arrays[url] !== t.url) return; // other images were asked for since
    arrays[slot] = { w: t.w, h: t.h, c: t.c, px: new Uint8Array(buf) };
    if (s.u === arrays.u) { s[slot] = arrays[slot]; s.root.dataset[slot] = "1"; }
  }).catch(failed);
}

function colours(s, n) {
  const d = s.data;
  const pal = d.palette.map(hexRgb);
  const hasSel = s.sel !== null;
  // the greyed points first, the selection on top
  const order = new Uint32Array(n);
  let k = 0;
  if (hasSel) { for (let i = 0; i < n; i++) if (!s.sel[i]) order[k++] = i; }
  for (let i = 0; i < n; i++) if (!hasSel || s.sel[i]) order[k++] = i;
  const pos = new Float32Array(2 * n);
  const col = new Uint8Array(4 * n);
  let m = 0;
  const alpha = Math.round(255 * (d.opacity || 0.8));
  for (let j = 0; j < n; j++) {
    const i = order[j];
    const ci = s.cat[i];
    if (d.categorical && s.hidden.has(ci)) continue;
    pos[2 * m] = s.u[i];
    pos[2 * m + 1] = s.v[i];
    const g = hasSel && !s.sel[i];
    const rgb = g ? GREY : (ci === 255 && !d.categorical ? [160, 160, 160] : pal[ci % pal.length]);
    col[4 * m] = rgb[0]; col[4 * m + 1] = rgb[1]; col[4 * m + 2] = rgb[2];
    col[4 * m + 3] = g ? GREY[3] : alpha;
    m++;
  }
  const gl = s.gl;
  if (!gl) return;
  gl.bindBuffer(gl.ARRAY_BUFFER, s.pbuf);
  gl.bufferData(gl.ARRAY_BUFFER, pos.subarray(0, 2 * m), gl.STATIC_DRAW);
  gl.bindBuffer(gl.ARRAY_BUFFER, s.cbuf);
  gl.bufferData(gl.ARRAY_BUFFER, col.subarray(0, 4 * m), gl.STATIC_DRAW);
  s.count = m;
}

function densityImage(d) {
  const vals = b64(d.data, Uint8Array);
  const c = document.createElement("canvas");
  c.width = d.nx;
  c.height = d.ny;
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(d.nx, d.ny);
  for (let r = 0; r < d.ny; r++) for (let q = 0; q < d.nx; q++) {
    const v = vals[r * d.nx + q]; // row 0 is the top
    const o = 4 * (r * d.nx + q);
    img.data[o] = 90; img.data[o + 1] = 90; img.data[o + 2] = 90; img.data[o + 3] = v;
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

function draw(s) {
  if (!s.gl || !s.data) return;
  VIEWS.set(s.data.view_key, s.view);
  const a = area(s);
  const gl = s.gl;
  const dpr = s.dpr;
  // the density beneath
  const uc = s.under.getContext("2d");
  uc.setTransform(dpr, 0, 0, dpr, 0, 0);
  uc.clearRect(0, 0, s.w, s.h);
  if (s.density) {
    const [px0, py0] = toPx(s, a, 0, 1);
    uc.imageSmoothingEnabled = true;
    uc.drawImage(s.density, px0, py0, a.side * s.view.k, a.side * s.view.k);
  }
  gl.viewport(0, 0, s.glc.width, s.glc.height);
  gl.clearColor(0, 0, 0, 0);
  gl.clear(gl.COLOR_BUFFER_BIT);
  gl.enable(gl.BLEND);
  gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
  gl.useProgram(s.prog);
  // clip space: x = -1 + 2 px / w, y = 1 - 2 py / h; px = x0 + u side k + vx
  const kx = (2 * a.side * s.view.k) / s.w, ky = (2 * a.side * s.view.k) / s.h;
  const ox = -1 + (2 * (a.x0 + s.view.x)) / s.w, oy = 1 - (2 * (a.y0 + s.view.y + a.side * s.view.k)) / s.h;
  gl.uniform2f(gl.getUniformLocation(s.prog, "k"), kx, ky);
  gl.uniform2f(gl.getUniformLocation(s.prog, "o"), ox, oy);
  gl.uniform1f(gl.getUniformLocation(s.prog, "sz"), s.size * dpr * Math.min(3, Math.sqrt(s.view.k)));
  const lp = gl.getAttribLocation(s.prog, "p"), lc = gl.getAttribLocation(s.prog, "c");
  gl.bindBuffer(gl.ARRAY_BUFFER, s.pbuf);
  gl.enableVertexAttribArray(lp);
  gl.vertexAttribPointer(lp, 2, gl.FLOAT, false, 0, 0);
  gl.bindBuffer(gl.ARRAY_BUFFER, s.cbuf);
  gl.enableVertexAttribArray(lc);
  gl.vertexAttribPointer(lc, 4, gl.UNSIGNED_BYTE, true, 0, 0);
  gl.drawArrays(gl.POINTS, 0, s.count);
  drawOverlay(s, a);
  // for tests and benchmarks: what is on screen
  if (s.root.dataset.drawn !== String(s.count)) {  // when this many were first drawn (benchmarks)
    s.root.dataset.drawnAt = performance.now().toFixed(1);
    s.root.dataset.drawn = String(s.count);
  }
  s.root.dataset.picked = String((s.data.picked || []).length);
  s.root.dataset.marker = s.data.marker ? "1" : "0";
  s.root.dataset.selected = String(s.sel ? s.sel.reduce((t, v) => t + v, 0) : 0);
}

function drawOverlay(s, a) {
  const d = s.data;
  const ctx = s.over.getContext("2d");
  ctx.setTransform(s.dpr, 0, 0, s.dpr, 0, 0);
  ctx.clearRect(0, 0, s.w, s.h);
  ctx.save();
  ctx.beginPath();
  ctx.rect(a.x0 - 8, a.y0 - 8, a.side + 16, a.side + 16);
  ctx.clip();
  if (d.path && d.path.length) {
    ctx.strokeStyle = "#111"; ctx.lineWidth = 3; ctx.beginPath();
    d.path.forEach(([u, v], i) => { const [x, y] = toPx(s, a, u, v); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.stroke();
    ctx.fillStyle = "#111";
    for (const [u, v] of d.path) { const [x, y] = toPx(s, a, u, v); ctx.beginPath(); ctx.arc(x, y, 4, 0, 7); ctx.fill(); }
  }
  ctx.strokeStyle = "#111"; ctx.lineWidth = 2.5;
  for (const [u, v] of d.picked || []) {
    const [x, y] = toPx(s, a, u, v); ctx.beginPath(); ctx.arc(x, y, s.size + 5, 0, 7); ctx.stroke();
  }
  if (d.marker) {
    const [x, y] = toPx(s, a, d.marker[0], d.marker[1]);
    star(ctx, x, y, 13);
  }
  const fs = d.font_px || 14;
  ctx.font = `bold ${fs + 4}px sans-serif`;
  ctx.textAlign = "center"; ctx.textBaseline = "middle";
  for (const c of d.cluster_labels || []) {
    const [x, y] = toPx(s, a, c.u, c.v);
    const w = ctx.measureText(c.text).width + 10;
    ctx.fillStyle = "rgba(255,255,255,0.75)"; ctx.fillRect(x - w / 2, y - fs * 0.75, w, fs * 1.5);
    ctx.fillStyle = "#111"; ctx.fillText(c.text, x, y);
  }
  ctx.restore();
  if (s.drag && s.drag.kind !== "pan") {
    ctx.strokeStyle = "#333"; ctx.setLineDash([5, 4]); ctx.lineWidth = 1.5; ctx.fillStyle = "rgba(67,97,238,0.08)";
    ctx.beginPath();
    if (s.drag.kind === "box") {
      const [x0, y0] = s.drag.start, [x1, y1] = s.drag.now;
      ctx.rect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
    } else s.drag.poly.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.closePath(); ctx.fill(); ctx.stroke(); ctx.setLineDash([]);
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
  L.style.fontSize = (d.font_px || 14) + "px";
  s.tip.style.fontSize = (d.font_px || 14) + "px";
  s.bar.style.fontSize = (d.font_px || 14) + "px";
  if (d.legend_title) el("div", "lse-legend-title", L, d.legend_title);
  if (d.categorical) {
    d.legend.forEach(([name, ci]) => {
      const row = el("div", "lse-legend-row" + (s.hidden.has(ci) ? " off" : ""), L);
      const sw = el("span", "lse-swatch", row);
      sw.style.background = d.palette[ci % d.palette.length];
      el("span", "", row, name);
      row.title = "Click to hide or show";
      row.onclick = () => { s.hidden.has(ci) ? s.hidden.delete(ci) : s.hidden.add(ci); drawLegend(s); colours(s, d.n); draw(s); };
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
  c.width = s.glc.width; c.height = s.glc.height;
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height);
  for (const layer of [s.under, s.glc, s.over]) ctx.drawImage(layer, 0, 0);
  const a = document.createElement("a");
  a.href = c.toDataURL("image/png");
  a.download = (s.data.file_name || "map") + ".png";
  a.click();
}

function nearest(s, px, py, radius) {
  const a = area(s);
  let best = -1, bd = radius * radius;
  for (let i = 0; i < s.data.n; i++) {
    if (s.data.categorical && s.hidden.has(s.cat[i])) continue;
    const [x, y] = toPx(s, a, s.u[i], s.v[i]);
    const dd = (x - px) ** 2 + (y - py) ** 2;
    if (dd < bd) { bd = dd; best = i; }
  }
  return best;
}

function inside(s, test) {
  const a = area(s), out = [];
  for (let i = 0; i < s.data.n; i++) {
    if (s.data.categorical && s.hidden.has(s.cat[i])) continue;
    const [x, y] = toPx(s, a, s.u[i], s.v[i]);
    if (test(x, y)) out.push(i);
  }
  return out;
}

// a box or lasso: shown greyed at once (the next run confirms it), sent as dataset indices
function choose(s, positions) {
  if (!s.trigger) return;
  if (positions.length) {
    s.sel = new Uint8Array(s.data.n);
    for (const i of positions) s.sel[i] = 1;
    colours(s, s.data.n);
  }
  s.trigger("selection", positions.map((i) => s.ids[i]));
}

function inPoly(poly, x, y) {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

// Point i's picture from the thumbnails `t` (n, h, w, c) into `canvas`, `side` px, unsmoothed;
// the canvas hidden without them.
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

function showTip(s, i, px, py) {
  const d = s.data;
  if (i < 0) { s.tip.style.display = "none"; return; }
  const parts = [`#${s.ids[i]}`];
  if (s.lab) parts.push(`label ${d.label_names[s.lab[i]] ?? s.lab[i]}`);
  if (s.err) parts.push(`error ${s.err[i].toFixed(4)}`);
  s.tipText.textContent = parts.join(" · ");
  const side = d.thumb_px || 112;
  tipImage(s.tipImg, s.thumbs, i, side);
  tipImage(s.tipRec, s.thumbs && s.recThumbs, i, side); // beside the image only
  s.tipCap.style.display = s.thumbs && s.recThumbs ? "block" : "none";
  s.tip.style.display = "block";
  const tw = s.tip.offsetWidth, th = s.tip.offsetHeight;
  s.tip.style.left = Math.min(px + 14, s.w - tw - 4) + "px";
  s.tip.style.top = Math.max(4, Math.min(py + 14, s.h - th - 4)) + "px";
}

function wire(s) {
  const on = (target, ev, fn, opt) => { target.addEventListener(ev, fn, opt); s.listeners.push(() => target.removeEventListener(ev, fn, opt)); };
  const at = (e) => { const r = s.over.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  on(s.over, "wheel", (e) => {
    e.preventDefault();
    const [px, py] = at(e), a = area(s);
    const f = Math.exp(-e.deltaY * 0.0015), k = Math.min(200, Math.max(0.5, s.view.k * f)), g = k / s.view.k;
    s.view = { k, x: px - a.x0 - (px - a.x0 - s.view.x) * g, y: py - a.y0 - (py - a.y0 - s.view.y) * g };
    draw(s);
  }, { passive: false });
  on(s.over, "pointerdown", (e) => {
    if (e.button !== 0) return;
    e.preventDefault(); // a drag on the map selects points, not the page's text
    const p = at(e);
    const kind = e.shiftKey ? "box" : s.mode;
    s.drag = { kind, start: p, now: p, poly: [p], view: { ...s.view }, moved: false };
    s.tip.style.display = "none";
  });
  on(s.over, "pointermove", (e) => { // hover: the card of the nearest point (events on window come from the shadow host)
    if (s.drag || !s.data || !s.u) return;
    const p = at(e);
    if (s.hoverFrame) cancelAnimationFrame(s.hoverFrame);
    s.hoverFrame = requestAnimationFrame(() => { s.hoverFrame = 0; showTip(s, nearest(s, p[0], p[1], 10), p[0], p[1]); });
  });
  on(window, "pointermove", (e) => {
    if (!s.drag) return;
    const p = at(e);
    s.drag.now = p;
    if (Math.hypot(p[0] - s.drag.start[0], p[1] - s.drag.start[1]) > 4) s.drag.moved = true;
    if (s.drag.kind === "pan") s.view = { ...s.drag.view, x: s.drag.view.x + p[0] - s.drag.start[0], y: s.drag.view.y + p[1] - s.drag.start[1] };
    else if (s.drag.kind === "lasso") s.drag.poly.push(p);
    draw(s);
  });
  on(window, "pointerup", (e) => {
    const dr = s.drag;
    if (!dr) return;
    s.drag = null;
    const p = at(e);
    if (!dr.moved) {
      s.tip.style.display = "none";
      const i = nearest(s, p[0], p[1], 10);
      if (i >= 0 && s.trigger) s.trigger("click", s.ids[i]);
      draw(s);
      return;
    }
    if (dr.kind === "box") {
      const [x0, y0] = dr.start, xl = Math.min(x0, p[0]), xh = Math.max(x0, p[0]), yl = Math.min(y0, p[1]), yh = Math.max(y0, p[1]);
      choose(s, inside(s, (x, y) => x >= xl && x <= xh && y >= yl && y <= yh));
    } else if (dr.kind === "lasso" && dr.poly.length > 2) {
      choose(s, inside(s, (x, y) => inPoly(dr.poly, x, y)));
    }
    draw(s);
  });
  on(s.over, "dblclick", () => { s.view = fullView(); draw(s); });
  on(s.over, "pointerleave", () => { if (!s.drag) s.tip.style.display = "none"; });
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let s = INSTANCES.get(parentElement);
  if (!s || !parentElement.contains(s.root)) {
    s = setup(parentElement);
    INSTANCES.set(parentElement, s);
  }
  s.trigger = setTriggerValue;
  if (data) update(s, data);
  return () => {
    s.listeners.forEach((off) => off());
    s.root.remove();
    INSTANCES.delete(parentElement);
  };
}
