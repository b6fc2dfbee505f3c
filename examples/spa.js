// @ts-check
// A single-page app that moves between its checkout and its account page
// with the History API: the prompt is mounted on each view and destroyed on
// the way out. `?via=iframe` does the same through the iframe helper.
/// <reference path="../static/consent-prompt.d.ts" />
import { mount } from "/consent-prompt/consent-prompt.js";

const params = new URLSearchParams(location.search);
const viaIframe = params.get("via") === "iframe";
const customer = params.get("customer") ?? "SPA-1";
const base = await (await fetch("consent-config.json")).json();
/** @type {{destroy(): void} | null} */
let current = null;

/**
 * Shows a view once the one before it has finished mounting: a quick
 * second click (or the back button) while a prompt is still mounting
 * would otherwise mount on a target that is about to hold one. Views are
 * shown in the order asked, each promise settling with its own mount.
 * @type {Promise<unknown>}
 */
let queue = Promise.resolve();

/** @param {string} view */
function show(view) {
  const run = queue.then(() => render(view));
  queue = run.catch(() => {});
  return run;
}

/** @param {string} view */
async function render(view) {
  current?.destroy();
  current = null;
  const title = /** @type {HTMLElement} */ (document.getElementById("view-title"));
  title.textContent = view === "account" ? "My account" : "Checkout";
  const config = { ...structuredClone(base), customerId: customer, mode: view === "account" ? "account" : "individual" };
  config.token = await checkoutToken(config);
  const target = /** @type {HTMLElement} */ (document.getElementById("consent"));
  if (viaIframe) {
    const frameHost = location.hostname === "localhost" ? "127.0.0.1" : "localhost";
    const src = `${location.protocol}//${frameHost}:${location.port}/consent-prompt/frame.html`;
    const api = window.ConsentPromptFrame;
    if (!api) throw new Error("host.js did not load");
    current = await api.mount(target, { src, config });
  } else {
    current = await mount(target, config);
  }
}

/** @param {string} view */
async function navigate(view) {
  history.pushState({ view }, "", `?view=${view}${viaIframe ? "&via=iframe" : ""}&customer=${encodeURIComponent(customer)}`);
  await show(view);
}

document.querySelectorAll("a[data-view]").forEach((a) =>
  a.addEventListener("click", (event) => {
    event.preventDefault();
    navigate(/** @type {HTMLElement} */ (a).dataset.view ?? "checkout");
  })
);
window.addEventListener("popstate", (event) => show(event.state?.view ?? "checkout"));
/** @type {any} */ (window).spaNavigate = navigate;
await show(params.get("view") ?? "checkout");

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
