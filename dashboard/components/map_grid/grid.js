// The decoded grid layer's tiles, handed to the map in the browser: window.__lseGrids holds
// {sig, img, n, bounds} per map view (view_key), and an "lse-map-grid" event on window tells the
// maps (latent_map/map.js, takeGrid) that one changed. The layer's controls live in a fragment of
// their own, so a toggle or a new side reruns that fragment and this, not the map.

const GRIDS = window.__lseGrids || (window.__lseGrids = new Map());
const WANTED = new Map(); // the sig each view asked for last: a slower, older picture never wins
const say = (key) => window.dispatchEvent(new CustomEvent("lse-map-grid", { detail: key }));

export default function (component) {
  const d = component.data || {};
  const key = d.view_key;
  WANTED.set(key, d.on ? d.sig : null);
  if (!d.on) {
    if (GRIDS.delete(key)) say(key);
    return;
  }
  const kept = GRIDS.get(key);
  if (kept && kept.sig === d.sig) return;
  const img = new Image();
  img.onload = () => {
    if (WANTED.get(key) !== d.sig) return;
    GRIDS.set(key, { sig: d.sig, img, n: d.n, bounds: d.bounds });
    say(key);
  };
  img.src = d.atlas;
}
