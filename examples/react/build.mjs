// Bundles the React example with esbuild: src/main.tsx → dist/app.js, and
// copies the prompt's wasm beside the bundle (the package's entry loads it
// from next to the script: new URL("./consent_prompt_bg.wasm", import.meta.url)).
//   npm ci && npm run build     (build the package first: node ../../scripts/package.mjs)
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "dist");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(here, "src/main.tsx")],
  outfile: path.join(out, "app.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  tsconfig: path.join(here, "tsconfig.json"),
  minify: true,
  sourcemap: false,
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
const require = createRequire(import.meta.url);
const wasm = path.join(path.dirname(require.resolve("@consent-prompt/widget/package.json")), "dist/consent_prompt_bg.wasm");
copyFileSync(wasm, path.join(out, "consent_prompt_bg.wasm"));
console.error("react example: dist/app.js and dist/consent_prompt_bg.wasm");
