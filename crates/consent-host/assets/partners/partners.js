// The partner page: a partner company signs in with its id and key, sees
// how many patrons agree to hear from it (by channel), downloads its
// contacts (CSV or JSON, filtered by channel and date) and reads the
// suppression feed. The key is kept in this module's memory only (never
// in storage) and sent only to this host, as a bearer credential.
const $ = (id) => document.getElementById(id);

/** The signed-in partner: `{ partner, key, name }`, or null. */
let session = null;
/** Bumped at every sign-in and sign-out: an answer for an older session is dropped. */
let generation = 0;
/** How many requests are under way; the page's buttons are disabled while any is. */
let busyCount = 0;

const CHANNELS = [
  ["email", "Email"],
  ["post", "Post"],
  ["sms", "Text message (SMS)"],
  ["phone", "Phone call"],
];
const REASONS = {
  withdrawn: "Withdrew consent",
  refused: "Said no after a yes",
  lapsed: "Consent lapsed",
  erased: "Asked to be erased",
};
const DAY = 24 * 60 * 60 * 1000;
const dateFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const count = new Intl.NumberFormat("en-GB");

/** A failure the page can tell the partner about in words. */
class Problem extends Error {}

function announce(message) {
  $("status").textContent = message;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  box.focus();
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

/**
 * Runs `work` with the page's buttons disabled (Sign out excepted: a
 * partner may always leave), then gives focus back to where it was if
 * disabling a button took it away and no error has claimed it.
 */
async function whileBusy(work) {
  const before = document.activeElement;
  busyCount += 1;
  setBusy(true);
  try {
    return await work();
  } finally {
    busyCount -= 1;
    if (busyCount === 0) {
      setBusy(false);
      const lost = document.activeElement === document.body || document.activeElement === null;
      if (lost && before instanceof HTMLElement && !before.hidden && before.isConnected) before.focus();
    }
  }
}

function setBusy(on) {
  for (const button of document.querySelectorAll("main button")) {
    if (button.id !== "sign-out") button.disabled = on;
  }
  $("result").setAttribute("aria-busy", String(on));
}

/** `2026-11-03` (a date input's value) as midnight UTC in RFC 3339. */
function midnightUtc(day) {
  return `${day}T00:00:00.000Z`;
}

/** Today, `days` days ago, as a date input's value (UTC). */
function daysAgo(days) {
  return new Date(Date.now() - days * DAY).toISOString().slice(0, 10);
}

function formatDay(day) {
  return dateFormat.format(new Date(midnightUtc(day)));
}

/** A file name part safe everywhere, as the host names its attachments. */
function fileStem(partner) {
  return partner.replace(/[^A-Za-z0-9-]/g, "_");
}

/**
 * A GET to the partner API with the key. Resolves to the response when it
 * is a success; otherwise throws a Problem that says what went wrong.
 */
async function api(path, key, accept = "application/json") {
  let response;
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${key}`, Accept: accept }, cache: "no-store" });
  } catch {
    throw new Problem("Could not reach the host. Check your connection and try again.");
  }
  if (response.ok) return response;
  let detail = null;
  try {
    detail = (await response.json())?.error ?? null;
  } catch {
    /* not JSON: the status says enough */
  }
  const said = detail?.message ? ` It said: ${detail.message}.` : "";
  switch (response.status) {
    case 401:
      throw new Problem("That key is not known, or it was revoked. Check it with the venue that gave it to you.");
    case 403:
      throw new Problem("That key does not speak for this partner. Check the partner id.");
    case 429:
      throw new Problem("Too many requests just now. Wait a minute, then try again.");
    case 400:
    case 422:
      throw new Problem(`The host could not use that request.${said}`);
    default:
      if (response.status >= 500) throw new Problem(`The host could not answer just now (error ${response.status}). Try again in a moment.${said}`);
      throw new Problem(`The host answered with error ${response.status}.${said}`);
  }
}

/** The body of a successful response; a transfer that breaks off is a Problem too. */
async function body(response, as) {
  try {
    return await response[as]();
  } catch {
    throw new Problem("The download broke off before it finished. Try again, or narrow it with the filters.");
  }
}

function fail(e) {
  announce("");
  showError(e instanceof Problem ? e.message : `Something went wrong in this page: ${e?.message ?? e}`);
}

function partnerPath(partner, what) {
  return `/api/v1/partners/${encodeURIComponent(partner)}/${what}`;
}

// --- Signing in and out -------------------------------------------------

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError();
  const idField = $("partner-id");
  const keyField = $("partner-key");
  const partner = idField.value.trim();
  const key = keyField.value.trim();
  idField.removeAttribute("aria-invalid");
  keyField.removeAttribute("aria-invalid");
  if (!partner || !key) {
    if (!partner) idField.setAttribute("aria-invalid", "true");
    if (!key) keyField.setAttribute("aria-invalid", "true");
    showError(partner ? "Enter your key as well." : key ? "Enter your partner id as well." : "Enter your partner id and your key.");
    return;
  }
  if (!key.startsWith("cpk_")) {
    keyField.setAttribute("aria-invalid", "true");
    showError("That is not a partner key: a partner key starts with cpk_. Check it with the venue that gave it to you.");
    return;
  }
  announce("Signing in…");
  const mine = ++generation;
  await whileBusy(async () => {
    try {
      const since = daysAgo(30);
      // The summary decides whether the key works; the feed failing only
      // leaves its section empty, with the reason in the alert.
      const [summary, feed] = await Promise.all([
        api(partnerPath(partner, "summary"), key).then((r) => body(r, "json")),
        fetchSuppressions(partner, key, since).catch((e) => e),
      ]);
      if (mine !== generation) return;
      session = { partner, key, name: summary.partnerName || partner };
      showSummary(summary);
      $("suppressions-since").value = since;
      if (feed instanceof Error) showSuppressions(null, since);
      else showSuppressions(feed, since);
      $("sign-in-panel").hidden = true;
      $("result").hidden = false;
      document.body.dataset.view = "signed-in";
      announce(`Signed in as ${session.name}. ${patrons(summary.contacts)} agree to hear from you.`);
      $("result-title").focus();
      if (feed instanceof Error) showError(feed instanceof Problem ? feed.message : String(feed));
    } catch (e) {
      if (mine === generation) fail(e);
    }
  });
});

$("sign-out").addEventListener("click", () => {
  generation += 1;
  session = null;
  clearError();
  $("result").hidden = true;
  $("sign-in-panel").hidden = false;
  document.body.dataset.view = "signed-out";
  // Nothing of the partner's stays in the page.
  $("by-channel").replaceChildren();
  $("suppressions-rows").replaceChildren();
  $("total").textContent = "0";
  $("result-partner").textContent = "";
  $("result-id").textContent = "";
  $("channel").value = "";
  $("since").value = "";
  $("suppressions-since").value = "";
  $("partner-key").value = "";
  $("partner-id").focus();
  announce("Signed out");
});

function patrons(n) {
  return `${count.format(n)} ${n === 1 ? "patron" : "patrons"}`;
}

function showSummary(summary) {
  $("result-partner").textContent = session.name;
  $("result-id").textContent = session.partner;
  $("total").textContent = count.format(summary.contacts);
  $("total-words").textContent = summary.contacts === 1 ? "patron agrees to hear from you." : "patrons agree to hear from you.";
  $("by-channel").replaceChildren(
    ...CHANNELS.map(([channel, words]) => {
      const tr = document.createElement("tr");
      tr.dataset.channel = channel;
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = words;
      const td = document.createElement("td");
      td.className = "num";
      td.textContent = count.format(summary.byChannel?.[channel] ?? 0);
      tr.append(th, td);
      return tr;
    })
  );
}

// --- Downloads ------------------------------------------------------------

/** Hands a Blob to the browser as a file: a temporary link, clicked and removed. */
function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has taken the file by then; the URL is only memory.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Rows in a CSV text (RFC 4180: a line break inside quotes is no new row), header excepted. */
function csvRows(text) {
  let rows = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === "\n" && !quoted) rows += 1;
  }
  if (text.length && !text.endsWith("\n")) rows += 1;
  return Math.max(0, rows - 1);
}

/** The contacts filters as query parameters and as words. */
function contactFilters() {
  const query = new URLSearchParams();
  const words = [];
  const channel = $("channel").value;
  const since = $("since").value;
  if (channel) {
    query.set("channel", channel);
    words.push(`${$("channel").selectedOptions[0].textContent.toLowerCase()} only`);
  }
  if (since) {
    query.set("since", midnightUtc(since));
    words.push(`answered since ${formatDay(since)}`);
  }
  return { query, words };
}

async function downloadContacts(format) {
  if (!session) return;
  clearError();
  const { partner, key } = session;
  const mine = generation;
  const { query, words } = contactFilters();
  query.set("format", format);
  const filename = `${fileStem(partner)}-contacts.${format}`;
  announce(`Preparing ${filename}…`);
  await whileBusy(async () => {
    try {
      const response = await api(`${partnerPath(partner, "contacts")}?${query}`, key, format === "csv" ? "text/csv" : "application/json");
      const text = await body(response, "text");
      if (mine !== generation) return;
      const rows = format === "csv" ? csvRows(text) : JSON.parse(text).contacts.length;
      save(new Blob([text], { type: format === "csv" ? "text/csv;charset=utf-8" : "application/json" }), filename);
      const filtered = words.length ? ` (${words.join(", ")})` : "";
      announce(`Downloaded ${filename}: ${rows === 1 ? "1 contact" : `${count.format(rows)} contacts`}${filtered}.`);
    } catch (e) {
      if (mine === generation) fail(e);
    }
  });
}

$("download").addEventListener("click", () => downloadContacts("csv"));
$("download-json").addEventListener("click", () => downloadContacts("json"));

// --- The suppression feed -------------------------------------------------

async function fetchSuppressions(partner, key, day) {
  const query = new URLSearchParams({ format: "json" });
  if (day) query.set("since", midnightUtc(day));
  return api(`${partnerPath(partner, "suppressions")}?${query}`, key).then((r) => body(r, "json"));
}

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

/** Shows the feed's lines, or (`feed` null: it could not be read) says to try again. */
function showSuppressions(feed, day) {
  const from = day ? ` since ${formatDay(day)}` : "";
  if (!feed) {
    $("suppressions-rows").replaceChildren();
    $("suppressions-wrap").hidden = true;
    $("suppressions-scroll").hidden = true;
    $("suppressions-empty").hidden = false;
    $("suppressions-empty").textContent = "The suppression feed could not be read. Use Show to try again.";
    return 0;
  }
  const lines = feed.suppressions ?? [];
  $("suppressions-caption").textContent = `${lines.length === 1 ? "1 patron" : `${count.format(lines.length)} patrons`}${from || ", ever"}`;
  $("suppressions-rows").replaceChildren(
    ...lines.map((line) => {
      const tr = document.createElement("tr");
      tr.dataset.reason = line.reason;
      const reason = cell(REASONS[line.reason] ?? line.reason);
      const ended = document.createElement("td");
      const time = document.createElement("time");
      time.dateTime = line.endedAt;
      time.textContent = dateFormat.format(new Date(line.endedAt));
      ended.append(time);
      const reference = cell(line.reference, "code");
      const customer = line.customerId ? cell(line.customerId, "code") : cell("erased", "erased");
      tr.append(reason, ended, reference, customer);
      return tr;
    })
  );
  const none = lines.length === 0;
  $("suppressions-wrap").hidden = none;
  $("suppressions-scroll").hidden = none;
  $("suppressions-empty").hidden = !none;
  $("suppressions-empty").textContent = none ? `Nobody’s yes to you has ended${from}: there is no one to stop contacting.` : "";
  return lines.length;
}

$("suppressions-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!session) return;
  clearError();
  const { partner, key } = session;
  const mine = generation;
  const day = $("suppressions-since").value;
  announce("Reading the suppression feed…");
  await whileBusy(async () => {
    try {
      const feed = await fetchSuppressions(partner, key, day);
      if (mine !== generation) return;
      const n = showSuppressions(feed, day);
      announce(`${n === 1 ? "1 patron" : `${count.format(n)} patrons`} to stop contacting${day ? ` since ${formatDay(day)}` : ""}.`);
    } catch (e) {
      if (mine !== generation) return;
      showSuppressions(null, day); // no lines left standing that were read for another date
      fail(e);
    }
  });
});

$("download-suppressions").addEventListener("click", async () => {
  if (!session) return;
  clearError();
  const { partner, key } = session;
  const mine = generation;
  const day = $("suppressions-since").value;
  const query = new URLSearchParams({ format: "csv" });
  if (day) query.set("since", midnightUtc(day));
  const filename = `${fileStem(partner)}-suppressions.csv`;
  announce(`Preparing ${filename}…`);
  await whileBusy(async () => {
    try {
      const response = await api(`${partnerPath(partner, "suppressions")}?${query}`, key, "text/csv");
      const text = await body(response, "text");
      if (mine !== generation) return;
      save(new Blob([text], { type: "text/csv;charset=utf-8" }), filename);
      const rows = csvRows(text);
      announce(`Downloaded ${filename}: ${rows === 1 ? "1 line" : `${count.format(rows)} lines`}${day ? ` since ${formatDay(day)}` : ""}.`);
    } catch (e) {
      if (mine === generation) fail(e);
    }
  });
});

// Dates after today cannot hold an answer.
for (const id of ["since", "suppressions-since"]) $(id).max = daysAgo(0);
