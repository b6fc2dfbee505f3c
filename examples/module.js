// @ts-check
// Embedding Consent Prompt as an ES module. Copy, then change the config URL.
import { mount } from "/consent-prompt/consent-prompt.js";

const target = /** @type {HTMLElement} */ (document.getElementById("consent"));
const result = /** @type {HTMLElement} */ (document.getElementById("result"));
const config = await (await fetch("consent-config.json")).json();
config.customerId = new URLSearchParams(location.search).get("customer") ?? config.customerId;
config.token = await checkoutToken(config);

target.addEventListener("consent:change", (event) => {
  result.textContent = event.detail.complete ? "All answered." : "";
});

const prompt = await mount(target, config);

// Checkout tokens are short-lived: when the backend refuses an expired one,
// the records are held; a fresh token sends them.
target.addEventListener("consent:error", async (event) => {
  if (event.detail.code === "unauthorized") prompt.update({ ...config, token: await checkoutToken(config) });
});

document.getElementById("pay")?.addEventListener("click", async () => {
  try {
    const summary = await prompt.commit();
    result.textContent = `Saved ${summary.records.length} record(s): ${summary.delivered.length} delivered, ${summary.pending.length} pending.`;
  } catch (error) {
    const e = /** @type {import("/consent-prompt/consent-prompt.js").ErrorDetail} */ (error);
    result.textContent = `Not saved: ${e.message}`;
  }
});

/**
 * A checkout token for this patron. Your backend issues it with the checkout
 * page; the demo host mints one at POST /demo/token (only with --demo).
 * @param {{venue: {id: string}, customerId: string}} config
 * @returns {Promise<string | undefined>}
 */
async function checkoutToken(config) {
  const response = await fetch("/demo/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ venueId: config.venue.id, customerId: config.customerId }),
  });
  return response.ok ? (await response.json()).token : undefined;
}
