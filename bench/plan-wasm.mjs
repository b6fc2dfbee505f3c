// The planner timed in wasm inside headless Chromium (bench/plan-wasm, a
// separate crate: nothing here is in the widget's wasm).
//   node bench/plan-wasm.mjs --out bench/out/plan-wasm.json [--samples 50] [--variants release,speed]
// Each variant is a wasm-bindgen --target web package in bench/plan-wasm/pkg/<variant>/.
// The page is cross-origin isolated (COOP + COEP), so performance.now()
// ticks in 5 µs rather than 100 µs; each sample runs enough plans to last
// at least 2 ms and reports the mean per plan, as divan does natively.
import { writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { ROOT, launch, serveStatic, summary, withTimeout } from "./lib/common.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const SAMPLES = Number(opt("--samples", "50"));
const VARIANTS = opt("--variants", "release").split(",");
const OUT = opt("--out", path.join(ROOT, "bench/out/plan-wasm.json"));
const SIZES = [10, 1000, 10000];
const PARTNERS = 1000;
const PKG = path.join(ROOT, "bench/plan-wasm/pkg");
const NAME = "consent_plan_wasm_bench";

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>planner in wasm</title>
<script type="module" src="/run.js"></script></head><body></body></html>`;

const RUN_JS = `import init, { PlanBench } from "./pkg/${NAME}.js";
await init({ module_or_path: new URL("./pkg/${NAME}_bg.wasm", import.meta.url) });
window.PlanBench = PlanBench;
window.benchReady = true;
`;

/** Runs in the page: warm-up, calibration, then the samples. */
function measure({ lines, partners, samples }) {
  const b = new window.PlanBench(lines, partners);
  const shape = Array.from(b.shape());
  // Warm-up: at least 300 ms and 20 plans, so the engine has tiered up.
  let n = 0;
  let spent = 0;
  while (spent < 300 || n < 20) {
    spent += b.run(1);
    n += 1;
  }
  const estimate = spent / n;
  const iterations = Math.max(1, Math.ceil(2 / estimate));
  const perPlan = [];
  for (let i = 0; i < samples; i++) perPlan.push(b.run(iterations) / iterations);
  b.free();
  return { shape, iterations, warmupPlans: n, perPlanMs: perPlan, isolated: window.crossOriginIsolated };
}

async function variant(browser, name) {
  const dir = path.join(PKG, name);
  for (const f of [`${NAME}.js`, `${NAME}_bg.wasm`]) {
    if (!existsSync(path.join(dir, f))) throw new Error(`missing ${path.join(dir, f)}: build it with bash bench/run.sh`);
  }
  const server = await serveStatic(
    {
      "/index.html": { body: PAGE, type: "text/html; charset=utf-8" },
      "/run.js": { body: RUN_JS, type: "text/javascript; charset=utf-8" },
      [`/pkg/${NAME}.js`]: { file: path.join(dir, `${NAME}.js`) },
      [`/pkg/${NAME}_bg.wasm`]: { file: path.join(dir, `${NAME}_bg.wasm`) },
    },
    { headers: { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" } }
  );
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 15000 }).catch(() => {
      throw new Error(`the wasm did not load: ${errors.join(" | ") || "no page error"}`);
    });
    const sizes = [];
    for (const lines of SIZES) {
      const r = await withTimeout(page.evaluate(measure, { lines, partners: PARTNERS, samples: SAMPLES }), 120000, `planner ${lines} lines`);
      const s = summary(r.perPlanMs);
      sizes.push({ lines, partners: PARTNERS, ...s, iterationsPerSample: r.iterations, warmupPlans: r.warmupPlans, questions: r.shape[0], skipped: r.shape[1], isolated: r.isolated, samplesMs: r.perPlanMs });
      console.error(`  plan-wasm ${name}: ${lines} lines: median ${(s.median * 1000).toFixed(1)} µs (min ${(s.min * 1000).toFixed(1)}, max ${(s.max * 1000).toFixed(1)}), ${r.iterations} plan(s)/sample, isolated=${r.isolated}`);
    }
    return { variant: name, sizes };
  } finally {
    await context.close();
    await server.close();
  }
}

async function main() {
  const browser = await launch();
  const chromium = browser.version();
  const variants = [];
  try {
    for (const v of VARIANTS) variants.push(await variant(browser, v));
  } finally {
    await browser.close();
  }
  writeFileSync(OUT, JSON.stringify({ chromium, samples: SAMPLES, variants }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
