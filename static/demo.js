// The demo checkout: a venue page that embeds Consent Prompt through its
// public ES module API, exactly as a venue's own checkout would.
import { mount } from "./consent-prompt.js";

const PRICES = {
  "hamlet-2026-12-03": 32.5,
  "tempest-2026-12-10": 28,
  "swan-lake-2026-12-14": 45,
  "jazz-2026-12-19": 18,
  "storytime-2026-12-20": 6,
};
const money = new Intl.NumberFormat("en-GB", { style: "currency", currency: "GBP" });

const params = new URLSearchParams(location.search);
const customerId = params.get("customer") || "C-1001";
const host = document.getElementById("consent");
const controls = document.getElementById("controls");
let handle = null;
let baseConfig = null;
let token = null; // this patron's checkout token, from the demo host

/**
 * The demo patron's contact points, as a venue's server would put them in
 * the token: fictional, and derived from the customer id so that the same
 * patron always has the same ones. An email at example.org, a phone number
 * in Ofcom's drama range (+44 20 7946 0xxx) and a short made-up address.
 */
function demoContact(id) {
  let n = 0;
  for (const ch of id) n = (n * 31 + ch.codePointAt(0)) % 100000;
  const local = id.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 64) || "patron";
  return {
    email: `${local}@example.org`,
    phone: `+44 20 7946 0${String(n % 1000).padStart(3, "0")}`,
    postal: `${(n % 90) + 1} Riverside Walk\nExampleton\nZZ99 9ZZ`,
  };
}

/**
 * A checkout token for the patron. A venue's backend issues it with the
 * checkout page, with the contact points it holds for the patron; the
 * reference host mints one at POST /demo/token, in demo mode only. Box
 * office and phone sales use an operator's token.
 */
async function checkoutToken(config) {
  const body = { venueId: config.venue.id, customerId: config.customerId, contact: demoContact(config.customerId) };
  if (config.operatorId) Object.assign(body, { scope: "consent:write:venue consent:read", operator: config.operatorId });
  try {
    const r = await fetch("/demo/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    return r.ok ? (await r.json()).token : null;
  } catch {
    return null; // no backend (e.g. a static preview)
  }
}

function authorized() {
  return token ? { headers: { Authorization: `Bearer ${token}` } } : {};
}

function $(id) {
  return document.getElementById(id);
}

function renderBasket(config) {
  const list = $("basket-lines");
  list.replaceChildren();
  let total = 0;
  for (const line of config.basket.lines) {
    const li = document.createElement("li");
    const title = document.createElement("span");
    title.textContent = line.title;
    const price = document.createElement("span");
    price.textContent = money.format(PRICES[line.eventId] ?? 0);
    total += PRICES[line.eventId] ?? 0;
    const by = document.createElement("small");
    const names = line.partnerIds.map((id) => config.partners.find((p) => p.id === id)?.name ?? id);
    by.textContent = names.length ? `Presented with ${names.join(" and ")}` : "A Riverside Playhouse event";
    li.append(title, price, by);
    list.append(li);
  }
  $("basket-total").textContent = money.format(total);
}

async function savedPreferences() {
  try {
    const r = await fetch(`/api/v1/customers/${encodeURIComponent(customerId)}/preferences`, authorized());
    if (!r.ok) return null;
    return (await r.json()).preferences;
  } catch {
    return null; // no backend (e.g. a static preview): use the config's own
  }
}

async function showAudit() {
  const pre = $("audit");
  try {
    const r = await fetch(`/api/v1/customers/${encodeURIComponent(customerId)}/consent-records`, authorized());
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const body = await r.json();
    pre.textContent = body.records.length
      ? body.records
          .map((x) => `${x.receivedAt}  ${x.partner.name}: ${x.state} (${x.dpvState}), notice v${x.notice.version} ${x.notice.language}`)
          .join("\n")
      : "No records stored for this patron yet.";
  } catch (e) {
    pre.textContent = `The audit trail is served by the reference host (${e.message}).`;
  }
}

function options() {
  const data = new FormData(controls);
  return {
    mode: data.get("mode"),
    theme: data.get("theme"),
    locale: data.get("locale"),
    require: data.get("require") === "yes",
    channel: data.get("channel"),
  };
}

// With --demo the reference host sends this page with the first question
// already rendered for the controls' defaults (crates/consent-host/src/
// prompt.rs, demo_config builds the same config); the first mount takes
// that DOM over. Keep the two in step, or the page renders afresh.
async function remount() {
  const o = options();
  const config = structuredClone(baseConfig);
  config.customerId = customerId;
  config.mode = o.mode;
  config.locale = o.locale;
  config.requireAnswer = o.require;
  config.theme = { preset: o.theme };
  if (o.mode !== "general") delete config.generalNotice;
  config.channel = o.channel;
  if (o.channel !== "web") config.operatorId = "op-demo";
  document.body.dataset.theme = o.theme;
  token = await checkoutToken(config);
  if (token) config.token = token;
  const saved = await savedPreferences();
  if (saved) config.preferences = config.preferences.concat(saved);
  if (handle) handle.destroy();
  handle = null;
  $("mount-error").hidden = true;
  try {
    handle = await mount(host, config, { embed: "demo" });
    window.consentPrompt = handle; // for the end-to-end tests and the curious
    window.consentConfig = config;
  } catch (e) {
    $("mount-error").textContent = `The consent prompt could not start: ${e.message ?? e}`;
    $("mount-error").hidden = false;
  }
}

// Before saving, the panel shows the records a commit would send right now.
host.addEventListener("consent:change", async () => {
  if (!handle || handle.state()?.phase !== "asking") return;
  try {
    const records = await handle.preview();
    $("records-note").textContent = `A commit now would send ${records.length} record(s):`;
    $("records").textContent = JSON.stringify(records, null, 2);
    $("records").hidden = false;
  } catch (e) {
    $("records-note").textContent = `Not ready to commit: ${e.message ?? e}`;
    $("records").hidden = true;
  }
});

host.addEventListener("consent:commit", (e) => {
  $("records-note").textContent = e.detail.pending.length
    ? `${e.detail.records.length} record(s) kept; ${e.detail.pending.length} still on their way to the backend.`
    : `${e.detail.records.length} record(s) stored by the backend.`;
  $("records").textContent = JSON.stringify(e.detail.records, null, 2);
  $("records").hidden = false;
  showAudit();
});

host.addEventListener("consent:error", async (e) => {
  if (e.detail.code !== "incomplete") $("records-note").textContent = `Not saved: ${e.detail.message}`;
  // The token expired during a long checkout: fetch a fresh one; update()
  // sends the held records with it.
  if (e.detail.code === "unauthorized" && handle && window.consentConfig) {
    const fresh = await checkoutToken(window.consentConfig);
    if (fresh && fresh !== token) {
      token = fresh;
      window.consentConfig = { ...window.consentConfig, token };
      handle.update(window.consentConfig);
    }
  }
});

controls.addEventListener("change", remount);
$("customer-id").textContent = customerId;
$("new-patron").href = `?customer=C-${Math.floor(Math.random() * 1e9)}`;

const response = await fetch(new URL("./demo-config.json", import.meta.url));
baseConfig = await response.json();
renderBasket(baseConfig);
await remount();
showAudit();
