// The reference host on 127.0.0.1 in demo mode, for a page server that
// asks it for a server render per page, as a venue's server would:
// POST /api/v1/prompt/render with the patron's checkout token. The token is
// minted once (a venue's server signs its own; the demo host's
// /demo/token stands for that) and lives longer than a benchmark.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Agent, request } from "node:http";
import { median } from "./common.mjs";

export async function startRenderHost({ hostBin, dist, venueId, customerId, frameParents = [] }) {
  const dir = mkdtempSync(path.join(tmpdir(), "consent-render-"));
  const host = spawn(
    hostBin,
    ["--port", "0", "--bind", "127.0.0.1", "--db", path.join(dir, "consent.db"), "--dist", dist, "--demo", "--write-rate-per-token", "1000000", "--write-rate-per-address", "1000000", ...(frameParents.length ? ["--frame-parents", frameParents.join(",")] : [])],
    { env: { ...process.env, RUST_LOG: "warn" }, stdio: ["ignore", "pipe", "inherit"] }
  );
  const stop = () =>
    new Promise((resolve) => {
      rmDir();
      if (host.exitCode !== null) return resolve();
      host.once("exit", resolve);
      host.kill("SIGTERM");
    });
  const rmDir = () => rmSync(dir, { recursive: true, force: true });
  let url;
  try {
    url = await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`the host did not start: ${out}`)), 15000);
      host.stdout.on("data", (chunk) => {
        out += chunk;
        const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
        if (m) {
          clearTimeout(timer);
          resolve(new URL(m[0]));
        }
      });
      host.once("exit", (code) => reject(new Error(`the host exited with ${code}`)));
    });
  } catch (e) {
    await stop();
    throw e;
  }
  // One keep-alive connection pool, as a venue's server keeps to the host.
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const post = (p, body, token) =>
    new Promise((resolve, reject) => {
      const data = Buffer.from(JSON.stringify(body));
      const req = request(
        { host: "127.0.0.1", port: url.port, path: p, method: "POST", agent, headers: { "Content-Type": "application/json", "Content-Length": data.length, ...(token ? { Authorization: `Bearer ${token}` } : {}) } },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode < 200 || res.statusCode >= 300) reject(new Error(`POST ${p}: ${res.statusCode} ${text}`));
            else resolve(JSON.parse(text));
          });
        }
      );
      req.on("error", reject);
      req.end(data);
    });
  const { token } = await post("/demo/token", { venueId, customerId, ttlSeconds: 4 * 3600 });
  const times = [];
  const pageTimes = [];
  /**
   * The patron's browser's own render request (the fragment, or the
   * frame's form POST at `path`), passed on as it came.
   */
  const forPage = (text, headers, path = "/api/v1/prompt/fragment") =>
    new Promise((resolve, reject) => {
      const data = Buffer.from(text);
      const started = performance.now();
      const pass = Object.fromEntries(["accept-language", "sec-gpc"].filter((h) => headers[h]).map((h) => [h, headers[h]]));
      const req = request(
        { host: "127.0.0.1", port: url.port, path, method: "POST", agent, headers: { "Content-Type": headers["content-type"] ?? "text/plain;charset=UTF-8", "Content-Length": data.length, ...pass } },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            pageTimes.push(performance.now() - started);
            resolve({ status: res.statusCode, type: res.headers["content-type"] ?? "application/json", body: Buffer.concat(chunks) });
          });
        }
      );
      req.on("error", reject);
      req.end(data);
    });
  return {
    url: url.href,
    /** The patron's checkout token (the config written into a page carries it). */
    token,
    forPage,
    /** How long the page's own render requests took at the host. */
    pageTimings: () => (pageTimes.length ? { n: pageTimes.length, median: median(pageTimes), min: Math.min(...pageTimes), max: Math.max(...pageTimes) } : null),
    /** The render a venue's server asks for; its duration is kept. */
    async render(config, assetBase, { inlineStyle = false } = {}) {
      const started = performance.now();
      const rendered = await post("/api/v1/prompt/render", { config, assetBase, inlineStyle }, token);
      times.push(performance.now() - started);
      return rendered;
    },
    /** How long the render calls took, server to server. */
    timings: () => (times.length ? { n: times.length, median: median(times), min: Math.min(...times), max: Math.max(...times) } : null),
    async stop() {
      agent.destroy();
      await stop();
    },
  };
}
