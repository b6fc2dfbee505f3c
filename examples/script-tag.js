// @ts-check
// The page's own script: embed.js mounts the prompt; this listens and commits.
/// <reference path="../static/consent-prompt.d.ts" />
document.addEventListener("DOMContentLoaded", () => {
  const target = /** @type {HTMLElement} */ (document.getElementById("consent"));
  const result = /** @type {HTMLElement} */ (document.getElementById("result"));
  target.addEventListener("consent:ready", (event) => {
    result.textContent = `${event.detail.state.questions.length} question(s) to answer.`;
    // embed.js fetched the config from data-config; a server-rendered page
    // would write the checkout token into that config. Here the token comes
    // once the prompt is mounted, through update().
    window.ConsentPrompt?.ready?.then(async (handle) => {
      const config = await (await fetch("consent-config.json")).json();
      config.token = await checkoutToken(config);
      handle.update(config);
    });
  });
  target.addEventListener("consent:commit", (event) => {
    result.textContent = `Saved ${event.detail.records.length} record(s): ${event.detail.delivered.length} delivered, ${event.detail.pending.length} pending.`;
  });
  target.addEventListener("consent:error", (event) => {
    result.textContent = `Not saved: ${event.detail.message}`;
  });
  document.getElementById("pay")?.addEventListener("click", () => {
    window.ConsentPrompt?.handle?.commit().catch(() => {
      // consent:error above already says why
    });
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
