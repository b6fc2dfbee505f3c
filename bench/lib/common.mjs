// Shared helpers for bench/: the repo root, the system Chromium, a tiny
// static server on 127.0.0.1, and summary statistics.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants as zlibConstants } from "node:zlib";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// playwright-core is installed for the end-to-end tests; reuse it (loaded
// when a browser is launched, so the report needs no browser).
const requireE2e = createRequire(path.join(ROOT, "tests/e2e/package.json"));

/** The system Chromium, headless. Never a downloaded browser. */
export function launch() {
  const { chromium } = requireE2e("playwright-core");
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-dev-shm-usage",
      // Loopback only: no other host name resolves, so nothing a page (or a
      // peer widget) asks for can leave the machine.
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/**
 * Serves a fixed set of files on 127.0.0.1 (a free port), gzip -9
 * compressed ahead of time when the browser accepts gzip, never cacheable.
 * `files` maps a URL path to `{ file }` (a path on disk), `{ body, type }`,
 * or `{ dynamic, type }`: an async function making the body for each
 * request (a page a server makes per request), compressed as it is sent
 * (brotli quality 5 or gzip -6, as a web server compresses dynamic pages).
 * Any of them may also have `post`, answering a POST to the same path.
 * `log` lists what each response sent: `{ path, status, encoding, bytes }`
 * (bytes = the body as sent on the wire, i.e. compressed).
 */
export async function serveStatic(files, { headers = {}, cache = "no-store" } = {}) {
  const table = new Map();
  for (const [urlPath, spec] of Object.entries(files)) {
    if (spec.post && !spec.file && !spec.body) {
      table.set(urlPath, { post: spec.post });
      continue;
    }
    if (spec.dynamic) {
      table.set(urlPath, { dynamic: spec.dynamic, type: spec.type ?? TYPES[path.extname(urlPath)], cacheControl: cache === "immutable" ? "no-cache" : "no-store" });
      continue;
    }
    const raw = spec.file ? readFileSync(spec.file) : Buffer.from(spec.body);
    const type = spec.type ?? TYPES[path.extname(spec.file ?? urlPath)] ?? "application/octet-stream";
    // Compressed once, before serving, as a CDN or the reference host's
    // precompressed files are: brotli q11 and gzip -9.
    const br = brotliCompressSync(raw, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } });
    // `cache: "immutable"`: every file but the page and the config is a
    // versioned asset, cached for a year, as in production.
    const cacheControl = cache === "immutable" && !spec.noCache && !/\.(html|json)$/.test(urlPath) ? "public, max-age=31536000, immutable" : cache === "immutable" ? "no-cache" : "no-store";
    table.set(urlPath, { raw, gzip: gzipSync(raw, { level: 9 }), br, type, cacheControl, post: spec.post });
  }
  const log = [];
  const server = createServer(async (req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, "http://127.0.0.1").pathname);
    let entry = table.get(urlPath);
    // A POST route (`{post: async (body, headers) => ({status, type, body})}`):
    // the page's render request, passed on to the reference host.
    if (entry?.post && req.method === "POST") {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      try {
        const out = await entry.post(Buffer.concat(chunks).toString("utf8"), req.headers);
        const raw = Buffer.from(out.body);
        const accept = req.headers["accept-encoding"] ?? "";
        const encoding = /\bbr\b/.test(accept) ? "br" : /\bgzip\b/.test(accept) ? "gzip" : "identity";
        const body = encoding === "br" ? brotliCompressSync(raw, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } }) : encoding === "gzip" ? gzipSync(raw, { level: 6 }) : raw;
        res.writeHead(out.status, { "Cache-Control": "no-store", "Content-Type": out.type, "Content-Length": body.length, ...(encoding !== "identity" ? { "Content-Encoding": encoding } : {}), Vary: "Accept-Encoding" });
        res.end(body);
        log.push({ path: urlPath, status: out.status, encoding, bytes: body.length, raw: raw.length });
      } catch (e) {
        res.writeHead(502, { "Content-Type": "text/plain", "Cache-Control": "no-store" });
        res.end(String(e));
        log.push({ path: urlPath, status: 502, encoding: "identity", bytes: 0, error: String(e) });
      }
      return;
    }
    if (entry?.dynamic && (req.method === "GET" || req.method === "HEAD")) {
      try {
        const raw = Buffer.from(await entry.dynamic());
        const br = brotliCompressSync(raw, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } });
        entry = { ...entry, raw, br, gzip: gzipSync(raw, { level: 6 }) };
      } catch (e) {
        res.writeHead(500, { "Content-Type": "text/plain", "Cache-Control": "no-store" });
        res.end(String(e));
        log.push({ path: urlPath, status: 500, encoding: "identity", bytes: 0, error: String(e) });
        return;
      }
    }
    const common = { "Cache-Control": entry?.cacheControl ?? "no-store", ...headers };
    if (!entry || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { ...common, "Content-Type": "text/plain" });
      res.end("not found");
      log.push({ path: urlPath, status: 404, encoding: "identity", bytes: 9 });
      return;
    }
    const accept = req.headers["accept-encoding"] ?? "";
    const encoding = /\bbr\b/.test(accept) ? "br" : /\bgzip\b/.test(accept) ? "gzip" : "identity";
    const body = encoding === "br" ? entry.br : encoding === "gzip" ? entry.gzip : entry.raw;
    res.writeHead(200, {
      ...common,
      "Content-Type": entry.type,
      "Content-Length": body.length,
      ...(encoding !== "identity" ? { "Content-Encoding": encoding } : {}),
      Vary: "Accept-Encoding",
    });
    res.end(req.method === "HEAD" ? undefined : body);
    log.push({ path: urlPath, status: 200, encoding, bytes: body.length, raw: entry.raw.length });
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export function summary(xs) {
  return { n: xs.length, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** Rejects after `ms` milliseconds with `what` in the message. */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]);
}
