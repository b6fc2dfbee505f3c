// Checks the built docs site (mdbook build docs, into target/book): every
// chapter in docs/src is in it, every relative link and image of every page
// names a file the site has, and every #fragment an id on that page. mdBook
// checks no links, and only logs a missing include, so scripts/test.sh runs
// this after it.
//   node scripts/check-book.mjs [target/book]
import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const BOOK = path.resolve(ROOT, process.argv[2] ?? "target/book");
if (!existsSync(path.join(BOOK, "index.html"))) {
  console.error(`book: no ${path.relative(ROOT, BOOK)}/index.html: run mdbook build docs first`);
  process.exit(1);
}

const pages = [];
(function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith(".html")) pages.push(p);
  }
})(BOOK);

const ids = new Map();
const idsOf = (file) => {
  if (!ids.has(file)) {
    const html = readFileSync(file, "utf8");
    ids.set(file, new Set([...html.matchAll(/\s(?:id|name)="([^"]*)"/g)].map((m) => m[1])));
  }
  return ids.get(file);
};
const decode = (s) => decodeURIComponent(s.replace(/&amp;/g, "&"));

const problems = new Set();
let links = 0;

// Every chapter written is in the book: mdBook leaves out, silently, a file
// SUMMARY.md does not list.
const SRC = path.join(ROOT, "docs/src");
(function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith(".md") && e.name !== "SUMMARY.md") {
      const rel = path.relative(SRC, p);
      if (!existsSync(path.join(BOOK, rel.replace(/\.md$/, ".html")))) problems.add(`docs/src/${rel} is not in the book (not listed in SUMMARY.md?)`);
    }
  }
})(SRC);
for (const page of pages) {
  // The 404 page is served from any depth (mdBook gives it a site-root base).
  if (path.basename(page) === "404.html") continue;
  const html = readFileSync(page, "utf8");
  // Real tags only: code shown on a page is escaped (&lt;script src=…).
  const attrs = [...html.matchAll(/<[a-z][a-z0-9]*\s[^>]*>/gi)].flatMap((tag) => [...tag[0].matchAll(/\s(href|src)="([^"]*)"/g)]);
  for (const m of attrs) {
    const url = m[2];
    if (!url || /^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith("//")) continue;
    links++;
    const [file, frag] = url.split("#");
    const target = file ? path.resolve(path.dirname(page), decode(file.split("?")[0])) : page;
    const where = `${path.relative(BOOK, page)}: ${m[1]}="${url}"`;
    if (!target.startsWith(BOOK + path.sep) && target !== BOOK) { problems.add(`${where} leaves the site`); continue; }
    const real = existsSync(target) && statSync(target).isDirectory() ? path.join(target, "index.html") : target;
    if (!existsSync(real)) { problems.add(`${where}: no such file`); continue; }
    if (frag && real.endsWith(".html") && !idsOf(real).has(decode(frag))) problems.add(`${where}: no id "${decode(frag)}" there`);
  }
}
for (const p of problems) console.error(`book: ${p}`);
if (problems.size) process.exit(1);
console.error(`ok: ${links} links in ${pages.length} pages, all found`);
