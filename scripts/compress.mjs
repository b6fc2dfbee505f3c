// Writes brotli (.br, quality 11) and gzip (.gz, level 9) versions of every
// asset in a build directory, and asset-manifest.json: the version, and for
// each file its size, SHA-256 (the host's ETag) and SHA-384 Subresource
// Integrity value. The host serves the compressed files by Accept-Encoding,
// never compressing per request.
//   node scripts/compress.mjs DIST_DIR
import { readFileSync, writeFileSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { createHash } from "node:crypto";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/compress.mjs DIST_DIR");
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cargo = readFileSync(path.join(root, "Cargo.toml"), "utf8");
const version = cargo.match(/^\[package\][^[]*?^version\s*=\s*"([^"]+)"/ms)?.[1];
if (!version) {
  console.error("compress: no [package] version in Cargo.toml");
  process.exit(1);
}

const COMPRESSIBLE = /\.(js|mjs|wasm|css|html|json|ts|svg|txt)$/;
const MANIFEST = "asset-manifest.json";
const files = {};

function walk(rel) {
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const relName = rel ? `${rel}/${name}` : name;
    const full = path.join(dir, relName);
    if (statSync(full).isDirectory()) {
      walk(relName);
      continue;
    }
    if (name === MANIFEST || name.endsWith(".br") || name.endsWith(".gz")) continue;
    const bytes = readFileSync(full);
    const entry = {
      bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      integrity: `sha384-${createHash("sha384").update(bytes).digest("base64")}`,
    };
    for (const [ext, make] of [
      [".br", () => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } })],
      [".gz", () => gzipSync(bytes, { level: 9 })],
    ]) {
      const out = full + ext;
      // A compressed copy only where it pays; a stale one is removed.
      const packed = COMPRESSIBLE.test(name) ? make() : null;
      if (packed && packed.length < bytes.length) {
        writeFileSync(out, packed);
        entry[ext === ".br" ? "br" : "gzip"] = packed.length;
      } else {
        try {
          unlinkSync(out);
        } catch {
          /* none */
        }
      }
    }
    files[relName] = entry;
  }
}

walk("");
writeFileSync(path.join(dir, MANIFEST), JSON.stringify({ version, files }, null, 2) + "\n");
const total = Object.values(files).reduce((a, f) => a + (f.br ?? f.bytes), 0);
console.error(`compress: ${Object.keys(files).length} files, ${(total / 1000).toFixed(1)} KB as brotli, manifest for version ${version}`);
