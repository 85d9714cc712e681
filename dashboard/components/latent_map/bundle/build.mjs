// Builds ../vendor/regl-scatterplot.js and ../vendor/LICENSES.txt from the versions pinned in
// package-lock.json:
//   cd dashboard/components/latent_map/bundle && npm ci && npm run build
// One minified script that defines `var ReglScatterplot` (default: createScatterplot, createRenderer, ...):
// canvas.py puts it in front of our map.js, so the browser needs no module loader and the user no
// Node. LICENSES.txt holds the licence of every package the bundle contains (read from esbuild's
// list of the files it bundled), plus KDBush's, which regl-scatterplot carries in its own source.
import { build } from "esbuild";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";

const out = await build({
  entryPoints: ["node_modules/regl-scatterplot/dist/regl-scatterplot.esm.js"],
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "ReglScatterplot",
  target: "es2020",
  legalComments: "none", // the licences go whole into LICENSES.txt
  metafile: true,
  outfile: "../vendor/regl-scatterplot.js",
});

// what esbuild bundled, and what regl-scatterplot's own dist already inlined (its dependencies)
const packages = new Set();
for (const file of Object.keys(out.metafile.inputs)) {
  const m = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) packages.add(m[1]);
}
const inlined = (name) => {
  for (const dep of Object.keys(JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")).dependencies || {})) {
    if (!packages.has(dep)) { packages.add(dep); inlined(dep); }
  }
};
inlined("regl-scatterplot");
let text = "Licences of the packages bundled in regl-scatterplot.js (built by bundle/build.mjs)\n";
for (const name of [...packages].sort()) {
  const dir = `node_modules/${name}`;
  const meta = JSON.parse(readFileSync(`${dir}/package.json`, "utf8"));
  const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  text += `\n${"=".repeat(72)}\n${name} ${meta.version} (${meta.license})\n${"=".repeat(72)}\n`;
  text += file ? readFileSync(`${dir}/${file}`, "utf8") : `(no licence file; package.json says ${meta.license})\n`;
}
const kdbush = readFileSync("node_modules/regl-scatterplot/src/kdbush-class.js", "utf8").match(/\/\*\*[\s\S]*?\*\//)[0];
text += `\n${"=".repeat(72)}\nKDBush 4.0.2 (ISC), inside regl-scatterplot's source\n${"=".repeat(72)}\n${kdbush}\n`;
writeFileSync("../vendor/LICENSES.txt", text);
console.log(`bundled: ${[...packages].sort().join(", ")}`);
