// The drawing pad: white ink on a black square, as MNIST's digits look once prepared. Pointer events
// cover mouse, touch and pen alike; each lifted stroke sends the whole drawing as a PNG data URL
// ("stroke" = {png, n}); Clear sends {png: null}. Python prepares it (ae_core.io.digit_prep), so
// the drawing needs no cropping or scaling here. The canvas keeps SIDE x SIDE pixels whatever
// size it is shown at.

const SIDE = 280;
const PADS = new WeakMap();

function setup(parent) {
  const root = el("div", "lse-pad", parent);
  const canvas = el("canvas", "lse-pad-canvas", root);
  canvas.width = SIDE; canvas.height = SIDE;
  const bar = el("div", "lse-pad-bar", root);
  const label = el("label", "", bar, "Brush ");
  const brush = el("input", "", label);
  brush.type = "range"; brush.min = "8"; brush.max = "40"; brush.value = "22";
  brush.setAttribute("aria-label", "Brush size");
  const clear = el("button", "", bar, "Clear");
  clear.type = "button";
  const ctx = canvas.getContext("2d");
  const p = { root, canvas, ctx, brush, down: false, last: null, n: 0, trigger: null, shown: null, inked: false };
  blank(p);

  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * SIDE / r.width, (ev.clientY - r.top) * SIDE / r.height];
  };
  const dot = (xy) => {
    ctx.beginPath();
    ctx.arc(xy[0], xy[1], Number(brush.value) / 2, 0, 2 * Math.PI);
    ctx.fill();
  };
  canvas.addEventListener("pointerdown", (ev) => {
    ev.preventDefault();
    canvas.setPointerCapture(ev.pointerId);
    p.down = true; p.last = at(ev); p.inked = true;
    dot(p.last);
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!p.down) return;
    const xy = at(ev);
    ctx.lineWidth = Number(brush.value);
    ctx.beginPath(); ctx.moveTo(p.last[0], p.last[1]); ctx.lineTo(xy[0], xy[1]); ctx.stroke();
    p.last = xy;
  });
  const lift = () => {
    if (!p.down) return;
    p.down = false;
    p.n += 1;
    root.dataset.strokes = String(p.n);  // tests and the bench: how many strokes were sent
    root.dataset.sentAt = performance.now().toFixed(1);
    if (p.trigger) p.trigger("stroke", { png: canvas.toDataURL("image/png"), n: p.n });
  };
  canvas.addEventListener("pointerup", lift);
  canvas.addEventListener("pointercancel", lift);
  clear.addEventListener("click", () => {
    blank(p);
    p.inked = false;
    p.n += 1;
    if (p.trigger) p.trigger("stroke", { png: null, n: p.n });
  });
  return p;
}

function blank(p) {
  p.ctx.fillStyle = "#000";
  p.ctx.fillRect(0, 0, SIDE, SIDE);
  p.ctx.fillStyle = "#fff";
  p.ctx.strokeStyle = "#fff";
  p.ctx.lineCap = "round";
  p.ctx.lineJoin = "round";
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let p = PADS.get(parentElement);
  if (!p || !parentElement.contains(p.root)) {
    p = setup(parentElement);
    PADS.set(parentElement, p);
  }
  p.trigger = setTriggerValue;
  const px = (data && data.px) || 224;
  p.canvas.style.width = px + "px";
  p.canvas.style.height = px + "px";
  // a pad mounted anew (a reload, the tab drawn again) shows the drawing Python still holds
  const png = data && data.png;
  if (png && !p.inked && p.shown !== png) {
    const img = new Image();
    img.onload = () => { p.ctx.drawImage(img, 0, 0, SIDE, SIDE); p.inked = true; };
    img.src = png;
  }
  p.shown = png || null;
  return () => { p.root.remove(); PADS.delete(parentElement); };
}
