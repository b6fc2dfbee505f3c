// Types that cannot drift: values captured from a real run of the prompt
// (state(), preview(), commit summaries, consent:* event details, error
// details, outbox() entries, retry() reports, stored records, a mount error)
// are written as fresh object literals, each `satisfies` its declared type in
// static/consent-prompt.d.ts, and type-checked with tsc --strict (plus
// exactOptionalPropertyTypes). A field the code emits but the declarations
// lack fails the excess-property check, so this test fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { hostAndBrowser, ROOT, waitFor, mintToken } from "./harness.mjs";

const env = hostAndBrowser();
const CACHE = path.join(ROOT, "tests/e2e/.cache/types");
const TSC = path.join(ROOT, "tests/e2e/node_modules/.bin/tsc");

function tsc(project) {
  try {
    execFileSync(TSC, ["-p", project, "--noEmit", "--strict"], { encoding: "utf8", stdio: "pipe" });
    return { ok: true, out: "" };
  } catch (e) {
    return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

function tsconfig(file) {
  return JSON.stringify(
    {
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "Bundler",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        noEmit: true,
        skipLibCheck: false,
        paths: { "consent-prompt": [path.join(ROOT, "static/consent-prompt.d.ts")] },
      },
      files: [file],
    },
    null,
    2
  );
}

const literal = (value) => JSON.stringify(value, null, 2);

test("values captured from a real run type-check against consent-prompt.d.ts", async () => {
  const context = await env.browser.newContext();
  await context.addInitScript(() => {
    window.__events = [];
    for (const type of ["consent:ready", "consent:change", "consent:commit", "consent:error"]) {
      document.addEventListener(type, (e) => window.__events.push({ type, detail: JSON.parse(JSON.stringify(e.detail)) }));
    }
  });
  const page = await context.newPage();
  await page.goto(`${env.host.url}examples/form.html`);
  await page.locator("consent-prompt #cp-q0-yes").waitFor();
  await waitFor(() => page.evaluate(() => document.querySelector("consent-prompt").token !== null));
  // Live: the wasm has taken the question over (it shows, as HTML, before).
  await page.waitForFunction(() => document.querySelector("consent-prompt").hasAttribute("data-cp-live"));
  const el = (fn, arg) => page.evaluate(fn, arg);

  const stateBefore = await el(() => document.querySelector("consent-prompt").state());
  const incomplete = await el(() => document.querySelector("consent-prompt").commit().then(() => null, (e) => e));
  assert.equal(incomplete.code, "incomplete");
  const previewIncomplete = await el(() => document.querySelector("consent-prompt").preview().then(() => null, (e) => e));

  await page.locator("consent-prompt #cp-q0-yes").check();
  await page.locator("consent-prompt #cp-q1-no").check();
  const stateAnswered = await el(() => document.querySelector("consent-prompt").state());
  const preview = await el(() => document.querySelector("consent-prompt").preview());

  // The backend is away for the first attempt: the records wait in the outbox.
  await page.route("**/api/v1/consent-records", (route) => route.fulfill({ status: 503, contentType: "application/json", body: '{"error":{"code":"unavailable","message":"down for a moment","field":null}}' }));
  const summary = await el(() => document.querySelector("consent-prompt").commit());
  const outbox = await el(() => document.querySelector("consent-prompt").outbox());
  assert.ok(outbox.length > 0, "records wait in the outbox");
  await page.unroute("**/api/v1/consent-records");
  const retry = await el(() => document.querySelector("consent-prompt").retry());
  const value = await el(() => document.querySelector("consent-prompt").value);
  await waitFor(() => el(() => window.__events.some((e) => e.type === "consent:commit" && e.detail.final)));
  const outboxAfter = await el(() => document.querySelector("consent-prompt").outbox());

  // A bad config: what mount() rejects with.
  const mountError = await el(async () => {
    const { mount } = await import("/consent-prompt/consent-prompt.js");
    return mount(document.createElement("div"), { endpoint: "/api", customer_id: "x" }).then(() => null, (e) => e);
  });
  assert.equal(mountError.code, "invalid-config");

  // The records as the host stores and returns them.
  const { token } = await mintToken(env.host.url, { customerId: "EX-1" });
  const response = await fetch(new URL("/api/v1/customers/EX-1/consent-records", env.host.url), { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  const stored = (await response.json()).records;
  assert.ok(stored.length >= 2);

  const events = await el(() => window.__events);
  const of = (type) => events.filter((e) => e.type === type).map((e) => e.detail);
  for (const type of ["consent:ready", "consent:change", "consent:commit", "consent:error"]) assert.ok(of(type).length > 0, `saw ${type}`);
  await context.close();

  const fixtures = `// Captured from a real run by tests/e2e/types.test.mjs. Do not edit.
import type * as CP from "consent-prompt";

export const stateBefore = ${literal(stateBefore)} satisfies CP.ConsentState;
export const stateAnswered = ${literal(stateAnswered)} satisfies CP.ConsentState;
export const incomplete = ${literal(incomplete)} satisfies CP.ErrorDetail;
export const previewIncomplete = ${literal(previewIncomplete)} satisfies CP.ErrorDetail;
export const preview = ${literal(preview)} satisfies CP.ConsentRecord[];
export const summary = ${literal(summary)} satisfies CP.CommitSummary;
export const outbox = ${literal(outbox)} satisfies CP.OutboxEntry[];
export const outboxAfter = ${literal(outboxAfter)} satisfies CP.OutboxEntry[];
export const retry = ${literal(retry)} satisfies CP.RetryReport;
export const value = ${literal(value)} satisfies CP.ConsentPromptElement["value"];
export const mountError = ${literal(mountError)} satisfies CP.MountError;
export const stored = ${literal(stored)} satisfies CP.ConsentRecord[];
export const readyEvents = ${literal(of("consent:ready"))} satisfies CP.ConsentEventMap["consent:ready"]["detail"][];
export const changeEvents = ${literal(of("consent:change"))} satisfies CP.ConsentEventMap["consent:change"]["detail"][];
export const commitEvents = ${literal(of("consent:commit"))} satisfies CP.ConsentEventMap["consent:commit"]["detail"][];
export const errorEvents = ${literal(of("consent:error"))} satisfies CP.ConsentEventMap["consent:error"]["detail"][];

// The element and its events, as a page's code uses them.
export async function usage(): Promise<string[]> {
  const element = document.createElement("consent-prompt");
  element.required = true;
  element.name = "consent";
  element.token = "t";
  element.theme = "dark";
  element.config = "/consent-config.json";
  element.addEventListener("consent:change", (event) => {
    const complete: boolean = event.detail.complete;
    void complete;
  });
  element.addEventListener("consent:error", (event) => {
    const code: string = event.detail.code;
    void code;
  });
  const found: CP.ConsentPromptElement | null = document.querySelector("consent-prompt");
  void found;
  const state: CP.ConsentState | null = element.state();
  void state;
  const entries: CP.OutboxEntry[] = await element.outbox();
  void entries;
  const { records } = await element.commit();
  return records.map((r) => r.recordId);
}
`;
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(path.join(CACHE, "fixtures.ts"), fixtures);
  writeFileSync(path.join(CACHE, "tsconfig.json"), tsconfig("fixtures.ts"));
  const result = tsc(CACHE);
  assert.ok(result.ok, `the captured values do not match consent-prompt.d.ts:\n${result.out}`);

  // The check has teeth: a field the declarations lack fails it.
  const drift = `import type * as CP from "consent-prompt";
export const state = ${literal({ ...stateAnswered, addedInRust: true })} satisfies CP.ConsentState;
`;
  const driftDir = path.join(CACHE, "drift");
  mkdirSync(driftDir, { recursive: true });
  writeFileSync(path.join(driftDir, "drift.ts"), drift);
  writeFileSync(path.join(driftDir, "tsconfig.json"), tsconfig("drift.ts"));
  const drifted = tsc(driftDir);
  assert.equal(drifted.ok, false, "an undeclared field fails the type check");
  assert.match(drifted.out, /addedInRust/);
});
