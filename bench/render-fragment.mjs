// Renders the benchmark's checkout config on the reference host, as a
// venue's server would (POST /api/v1/prompt/render with the patron's
// checkout token), and writes the fragment for bench/ttfq.mjs to inline.
//   node bench/render-fragment.mjs --host-bin target/host/consent-host \
//     --dist dist --config bench/out/ours-config.json --out bench/out/ssr-fragment.html
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0) throw new Error(`${name} is required`);
  return args[i + 1];
};
const config = JSON.parse(readFileSync(opt("--config"), "utf8"));
const dir = mkdtempSync(path.join(tmpdir(), "consent-render-"));
const host = spawn(opt("--host-bin"), ["--port", "0", "--db", path.join(dir, "consent.db"), "--dist", opt("--dist"), "--demo"], {
  env: { ...process.env, RUST_LOG: "warn" },
  stdio: ["ignore", "pipe", "inherit"],
});
try {
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the host did not start: ${out}`)), 15000);
    host.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    host.once("exit", (code) => reject(new Error(`the host exited with ${code}`)));
  });
  const post = async (p, body, token) => {
    const r = await fetch(new URL(p, url), {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`POST ${p}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const { token } = await post("/demo/token", { venueId: config.venue.id, customerId: config.customerId });
  // The bench serves the widget's files at /consent-prompt/.
  const rendered = await post("/api/v1/prompt/render", { config, assetBase: "/consent-prompt/" }, token);
  writeFileSync(opt("--out"), rendered.fragment);
  console.error(`  rendered ${rendered.questions} question(s), ${rendered.fragment.length} bytes, key ${rendered.renderKey}`);
} finally {
  host.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
