// The patron's receipt: after a checkout, "Download a copy of your choices"
// gives the records with the wording exactly as the host stored it.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { hostAndBrowser, openDemo, newCustomer, recordsFor, waitFor } from "./harness.mjs";

const env = hostAndBrowser();

test("after a checkout the patron downloads a receipt whose wording matches the stored records byte for byte", async () => {
  const customer = newCustomer();
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, customer);
  await page.locator("#consent #cp-q0-yes").check();
  await page.locator("#consent #cp-q0-email").check();
  for (const i of [1, 2]) await page.locator(`#consent #cp-q${i}-no`).check();
  await page.locator("#consent [part=submit]").click();
  await page.locator("#consent [part=status]", { hasText: "Your choices are saved" }).waitFor();

  // Offered on screen, as real links the keyboard reaches.
  await page.locator("#consent [part=receipt-title]", { hasText: "Download a copy of your choices" }).waitFor();
  const link = page.locator("#consent a[part=receipt-json]");
  assert.equal(await link.textContent(), "Save a copy as a file (JSON)");
  await link.focus();
  assert.equal(await page.evaluate(() => document.getElementById("consent").shadowRoot.activeElement?.getAttribute("part")), "receipt-json");

  const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
  assert.match(download.suggestedFilename(), /^consent-receipt-E2E-[\w-]+-\d{4}-\d{2}-\d{2}\.json$/);
  const receipt = JSON.parse(fs.readFileSync(await download.path(), "utf8"));
  assert.equal(receipt.schema, "consent-receipt/1");
  assert.equal(receipt.customerId, customer);
  assert.equal(receipt.records.length, 3);

  const stored = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 3 && r;
  });
  for (const mine of receipt.records) {
    const theirs = stored.find((r) => r.recordId === mine.recordId);
    assert.ok(theirs, `record ${mine.recordId} is stored`);
    assert.ok(Buffer.from(mine.notice.text, "utf8").equals(Buffer.from(theirs.notice.text, "utf8")), `${mine.partner.id}: same wording, byte for byte`);
    assert.equal(mine.notice.sha256, theirs.notice.sha256);
    assert.equal(mine.notice.version, theirs.notice.version);
    assert.equal(mine.action, theirs.action);
    assert.equal(mine.decidedAt, theirs.decidedAt);
    assert.deepEqual(mine.partner, theirs.partner);
    assert.deepEqual(mine.venue, theirs.venue);
  }

  // The same receipt is on the handle.
  const fromHandle = await page.evaluate(() => window.consentPrompt.receipt());
  assert.deepEqual(fromHandle.records.map((r) => r.recordId), receipt.records.map((r) => r.recordId));

  // The printable copy opens as its own page with the same words.
  const [printable] = await Promise.all([
    page.context().waitForEvent("page"),
    page.locator("#consent a[part=receipt-print]").click(),
  ]);
  await printable.waitForLoadState();
  const text = await printable.locator("body").innerText();
  for (const r of receipt.records) {
    assert.ok(text.includes(r.notice.text), `the printable copy shows ${r.partner.id}'s wording`);
    assert.ok(text.includes(r.recordId), `the printable copy names record ${r.recordId}`);
  }
  assert.equal(await printable.locator("script").count(), 0);
  await printable.close();
  await page.close();
});
