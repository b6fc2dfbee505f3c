// @ts-check
// The parent page of the iframe example. In production `src` is your ticketing
// host's frame.html; here the frame is served by the same demo host under its
// other loopback name, so parent and frame are different origins.
/// <reference path="../static/consent-prompt.d.ts" />
document.addEventListener("DOMContentLoaded", async () => {
  const frameHost = location.hostname === "localhost" ? "127.0.0.1" : "localhost";
  const src = `${location.protocol}//${frameHost}:${location.port}/consent-prompt/frame.html`;
  const result = /** @type {HTMLElement} */ (document.getElementById("result"));
  const config = await (await fetch("consent-config.json")).json();
  config.customerId = new URLSearchParams(location.search).get("customer") ?? config.customerId;
  config.token = await checkoutToken(config);
  const api = window.ConsentPromptFrame;
  if (!api) throw new Error("host.js did not load");
  const prompt = await api.mount("#consent", { src, config, title: "Contact preferences" });
  /** @type {any} */ (window).consentPrompt = prompt;
  document.getElementById("pay")?.addEventListener("click", async () => {
    try {
      const summary = await prompt.commit();
      result.textContent = `Saved ${summary.records.length} record(s): ${summary.delivered.length} delivered, ${summary.pending.length} pending.`;
    } catch (error) {
      result.textContent = `Not saved: ${/** @type {{message: string}} */ (error).message}`;
    }
  });
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
