// DOM helpers every component's script shares: prepended to its own script by its Python mount
// (latent_map/canvas.py, drawing_pad/pad.py, unit_sliders/sliders.py), so each stays one inline script with no loader.

// a new element of `tag` with class `cls` and text `text`, appended to `parent` when given
function el(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
