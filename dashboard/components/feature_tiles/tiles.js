// Feature tiles: one button per unit holding its picture (pixels repeated, not smoothed); a click
// (or Enter on a focused tile) sends {i, n} as "pick", i the tile's place in the list Python sent.
// The tile shown large is outlined. data-unit carries each tile's unit, for the browser tests.

const GRIDS = new WeakMap();

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let g = GRIDS.get(parentElement);
  if (!g || !parentElement.contains(g.root)) {
    g = { root: el("div", "lse-tiles", parentElement), n: 0, key: "" };
    GRIDS.set(parentElement, g);
  }
  g.trigger = setTriggerValue;
  const tiles = (data && data.tiles) || [];
  const units = (data && data.units) || [];
  const px = (data && data.px) || 64;
  g.root.style.maxWidth = ((data && data.width) || 1000) + "px";
  const key = tiles.length + ":" + px + ":" + tiles.join("").length + ":" + units.join(",");
  if (key !== g.key) {  // new pictures: draw the grid again; otherwise only the outline moves
    g.key = key;
    g.root.replaceChildren();
    tiles.forEach((src, i) => {
      const b = el("button", "lse-tile", g.root);
      b.type = "button";
      b.dataset.unit = String(units[i]);
      b.title = `unit ${units[i]}: click to enlarge`;
      const img = el("img", "", b);
      img.src = src; img.width = px; img.alt = `unit ${units[i]}`;
      b.addEventListener("click", () => { g.n += 1; if (g.trigger) g.trigger("pick", { i, n: g.n }); });
    });
  }
  const picked = data ? data.picked : null;
  [...g.root.children].forEach((b, i) => b.setAttribute("aria-pressed", String(i === picked)));
  return () => { g.root.remove(); GRIDS.delete(parentElement); };
}
