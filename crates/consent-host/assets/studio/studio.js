// The prompt studio: a venue's designer themes and words the prompt on the
// real widget (the same module a checkout loads), in every state a patron
// can meet, at phone, tablet and desktop widths, in every language, light
// and dark. The host checks the config with the prompt's own rules and
// audits every pair of colours the prompt draws (POST /api/v1/studio/check:
// the one owner of those rules; this page only shows what it says).
//
// Nothing here reaches a patron or the ledger: the previews deliver to
// /studio/preview/…, which this page answers itself, and each preview
// mounts for a customer id of its own, forgotten when it is replaced.

const COLOUR_LABELS = {
  "accent": "Accent (links, the Save button, chosen answers)",
  "accent-text": "Text on the accent",
  "text": "Text",
  "muted": "Secondary text",
  "background": "Background",
  "surface": "Question panels",
  "border": "Borders",
  "error": "Errors",
  "focus-ring": "Keyboard focus ring",
};
const SHAPE_TOKENS = [
  { token: "font-family", label: "Font family", hint: "A CSS font stack, e.g. Georgia, serif." },
  { token: "font-size", label: "Text size", hint: "e.g. 1rem or 17px." },
  { token: "radius", label: "Corner radius", hint: "e.g. 6px; 0 for square corners." },
  { token: "spacing", label: "Spacing", hint: "The space around and between questions, e.g. 1rem." },
];

/** The states a patron can meet, each a config change and what to do once mounted. */
const STATES = [
  { id: "questions", label: "Questions" },
  { id: "errors", label: "Errors", tweak: (c) => ({ ...c, requireAnswer: true, submitButton: true }), after: async (h, el) => { await until(() => el.shadowRoot?.querySelector("[part=submit]")); el.shadowRoot?.querySelector("[part=submit]")?.click(); await until(() => el.shadowRoot?.querySelector("[part=error-summary]")); } },
  { id: "saving", label: "Saving", tweak: (c) => ({ ...c, endpoint: "/studio/preview/hold" }), after: async (h, el) => { await answer(el); h.commit().catch(() => {}); await until(() => el.shadowRoot?.querySelector(".status")?.textContent); } },
  { id: "saved", label: "Saved", tweak: (c) => ({ ...c, endpoint: "/studio/preview/store" }), after: async (h, el) => { await answer(el); await h.commit().catch(() => {}); } },
  { id: "saved-none", label: "Saved, nothing chosen", tweak: (c) => ({ ...c, endpoint: "/studio/preview/store" }), after: (h) => h.commit().catch(() => {}) },
  { id: "box-office", label: "Box office", tweak: (c) => ({ ...c, channel: "box-office", operatorId: c.operatorId || "studio" }) },
  { id: "account", label: "Preference centre", tweak: (c) => ({ ...c, mode: "account", preferences: earlier(c) }) },
  { id: "general", label: "General statement", tweak: (c) => ({ ...c, mode: "general" }), needs: (c) => (c.generalNotice ? null : "This config has no generalNotice, so it has no general statement to show.") },
];

const $ = (id) => document.getElementById(id);
const state = {
  config: null,
  key: null,
  check: null,
  editScheme: "light",
  previewState: "all",
  width: 360,
  language: "en-GB",
  scheme: "light",
  handles: [],
  generation: 0,
};
let mountPrompt = null;

// ---- The previews' own backend -------------------------------------------

const realFetch = window.fetch.bind(window);
window.fetch = async (input, init) => {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/studio/preview/")) return realFetch(input, init);
  if (url.pathname.endsWith("/hold")) {
    // "Saving…" for as long as the preview is shown: an answer that never comes.
    return new Promise((_, reject) => {
      const signal = init?.signal || (input instanceof Request ? input.signal : null);
      signal?.addEventListener("abort", () => reject(new DOMException("held by the studio", "AbortError")));
    });
  }
  const body = input instanceof Request ? await input.clone().text() : String(init?.body || "{}");
  let records = [];
  try { records = JSON.parse(body).records || []; } catch { records = []; }
  const receivedAt = new Date().toISOString();
  return new Response(JSON.stringify({ stored: records.map((r) => ({ recordId: r.recordId, receivedAt })), duplicates: [] }), {
    status: 201,
    headers: { "Content-Type": "application/json" },
  });
};

/** Forgets what the previews left on this device (their outbox and answers). */
function forgetPreviews() {
  try {
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith("consent-prompt:")) continue;
      if ((localStorage.getItem(key) || "").includes('"customerId":"studio-')) localStorage.removeItem(key);
    }
  } catch { /* storage refused: nothing was kept */ }
}

// ---- Talking to the host -----------------------------------------------

async function check(config) {
  const headers = { "Content-Type": "application/json" };
  if (state.key) headers.Authorization = `Bearer ${state.key}`;
  const r = await realFetch("/api/v1/studio/check", { method: "POST", headers, body: typeof config === "string" ? config : JSON.stringify(config) });
  if (r.status === 401 || r.status === 403) {
    const e = new Error((await r.json().catch(() => null))?.error?.message || "an admin key is needed");
    e.auth = true;
    throw e;
  }
  if (!r.ok) throw new Error((await r.json().catch(() => null))?.error?.message || `the host answered ${r.status}`);
  return r.json();
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
  if (message) box.focus();
}

// ---- The theme -------------------------------------------------------------

function theme() {
  state.config.theme ||= {};
  return state.config.theme;
}
function tokensOf(scheme) {
  const t = theme();
  const field = scheme === "dark" ? "darkTokens" : "tokens";
  t[field] ||= {};
  return t[field];
}
function setToken(scheme, token, value) {
  const tokens = tokensOf(scheme);
  if (value === "" || value == null) delete tokens[token];
  else tokens[token] = value;
  tidyTheme();
  changed({ remount: false });
}
function tidyTheme() {
  const t = theme();
  for (const f of ["tokens", "darkTokens"]) if (t[f] && !Object.keys(t[f]).length) delete t[f];
}

/** The stylesheet's value for a token in a scheme, as the host's audit reports it. */
function defaultOf(scheme, token) {
  for (const pair of state.check?.contrast || []) {
    if (pair.scheme !== scheme) continue;
    for (const side of [pair.foreground, pair.background]) if (side.token === token && !side.venueSet) return side.value;
  }
  return null;
}

/** A colour as `#rrggbb` for `<input type=color>`, when it is one. */
function hex6(value) {
  const v = (value || "").trim().toLowerCase();
  if (/^#[0-9a-f]{6}$/.test(v)) return v;
  if (/^#[0-9a-f]{3}$/.test(v)) return `#${[...v.slice(1)].map((c) => c + c).join("")}`;
  return null;
}

/** Applies the tokens to the previews, as the exported CSS would to a page. */
function applyTokens() {
  const box = $("previews");
  for (const name of [...box.style]) if (name.startsWith("--cp-")) box.style.removeProperty(name);
  for (const [token, value] of Object.entries(theme().tokens || {})) box.style.setProperty(`--cp-${token}`, value);
  for (const [token, value] of Object.entries(theme().darkTokens || {})) box.style.setProperty(`--cp-dark-${token}`, value);
}

function exportCss() {
  const lines = ["/* Consent Prompt theme, from the prompt studio. Custom properties inherit", "   into the prompt's shadow root: :root reaches every prompt on the page. */", ":root {"];
  for (const [token, value] of Object.entries(theme().tokens || {})) lines.push(`  --cp-${token}: ${value};`);
  for (const [token, value] of Object.entries(theme().darkTokens || {})) lines.push(`  --cp-dark-${token}: ${value};`);
  lines.push("}");
  const unchecked = (state.check?.warnings || []).filter((w) => w.path.startsWith("theme."));
  if (unchecked.length) {
    lines.unshift(`/* NOT CHECKED for contrast: ${unchecked.map((w) => w.path).join(", ")}. Check these colours by hand. */`);
  }
  return lines.join("\n") + "\n";
}

// ---- Rendering the controls ------------------------------------------------

function failingTokens() {
  const failing = new Map();
  for (const pair of state.check?.contrast || []) {
    if (pair.verdict !== "fail") continue;
    const side = pair.foreground.venueSet || !pair.background.venueSet ? pair.foreground : pair.background;
    const key = `${pair.scheme}:${side.token}`;
    if (!failing.has(key)) failing.set(key, pair.message);
  }
  return failing;
}

function renderColourRows() {
  const rows = $("colour-rows");
  const scheme = state.editScheme;
  const failing = failingTokens();
  const active = document.activeElement?.id;
  rows.replaceChildren();
  for (const [token, label] of Object.entries(COLOUR_LABELS)) {
    const own = tokensOf(scheme)[token];
    const fallback = defaultOf(scheme, token);
    const id = `tok-${scheme}-${token}`;
    const row = document.createElement("div");
    row.className = "token-row";
    const lab = document.createElement("label");
    lab.htmlFor = id;
    lab.textContent = label;
    const code = document.createElement("code");
    code.textContent = scheme === "dark" ? `--cp-dark-${token}` : `--cp-${token}`;
    code.className = "token-name";
    const line = document.createElement("div");
    line.className = "token-inputs";
    const picker = document.createElement("input");
    picker.type = "color";
    picker.id = `${id}-picker`;
    picker.value = hex6(own) || hex6(fallback) || "#000000";
    picker.setAttribute("aria-label", `${label}: pick a colour`);
    const text = document.createElement("input");
    text.type = "text";
    text.id = id;
    text.value = own || "";
    text.placeholder = fallback ? `${fallback} (default)` : "default";
    text.spellcheck = false;
    text.autocomplete = "off";
    picker.addEventListener("input", () => { text.value = picker.value; setToken(scheme, token, picker.value); });
    text.addEventListener("change", () => { const h = hex6(text.value); if (h) picker.value = h; setToken(scheme, token, text.value.trim()); });
    const reset = document.createElement("button");
    reset.type = "button";
    reset.className = "secondary small";
    reset.textContent = "Reset";
    reset.setAttribute("aria-label", `Reset ${label} to the default`);
    reset.disabled = !own;
    reset.addEventListener("click", () => { setToken(scheme, token, ""); renderColourRows(); $(id).focus(); });
    line.append(picker, text, reset);
    row.append(lab, code, line);
    const problem = failing.get(`${scheme}:${token}`);
    if (problem) {
      row.classList.add("failing");
      text.setAttribute("aria-invalid", "true");
      const p = document.createElement("p");
      p.className = "token-problem";
      p.id = `${id}-problem`;
      p.textContent = problem;
      text.setAttribute("aria-describedby", p.id);
      row.append(p);
    }
    rows.append(row);
  }
  if (active && $(active)) $(active).focus();
}

function renderShapeRows() {
  const rows = $("shape-rows");
  rows.replaceChildren();
  for (const { token, label, hint } of SHAPE_TOKENS) {
    const id = `tok-${token}`;
    const row = document.createElement("div");
    row.className = "field";
    const lab = document.createElement("label");
    lab.htmlFor = id;
    lab.textContent = label;
    const input = document.createElement("input");
    input.id = id;
    input.value = tokensOf("light")[token] || "";
    input.placeholder = "the prompt's default";
    input.spellcheck = false;
    input.setAttribute("aria-describedby", `${id}-hint`);
    input.addEventListener("change", () => setToken("light", token, input.value.trim()));
    const p = document.createElement("p");
    p.className = "hint";
    p.id = `${id}-hint`;
    p.textContent = hint;
    row.append(lab, input, p);
    rows.append(row);
  }
}

function renderContrast() {
  const body = $("contrast-rows");
  body.replaceChildren();
  const pairs = state.check?.contrast || [];
  for (const pair of pairs) {
    const tr = document.createElement("tr");
    tr.className = pair.verdict;
    const where = document.createElement("th");
    where.scope = "row";
    where.textContent = `${pair.drawn} (${pair.scheme})`;
    const sample = document.createElement("td");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.textContent = "Aa";
    swatch.style.setProperty("color", pair.foreground.value);
    swatch.style.setProperty("background", pair.background.value);
    swatch.style.setProperty("border-color", pair.foreground.value);
    const values = document.createElement("span");
    values.className = "pair-values";
    values.textContent = `${pair.foreground.token} ${pair.foreground.value} on ${pair.background.token} ${pair.background.value}`;
    sample.append(swatch, values);
    const ratio = document.createElement("td");
    ratio.className = "num";
    ratio.textContent = pair.ratio == null ? "–" : `${pair.ratio.toFixed(2)}:1`;
    const result = document.createElement("td");
    result.textContent = pair.verdict === "pass" ? `✓ Pass (${pair.minimum}:1)` : pair.verdict === "fail" ? `✗ Fail: needs ${pair.minimum}:1` : "? Not checked";
    result.className = "verdict";
    if (pair.message && pair.verdict !== "pass") result.title = pair.message;
    tr.append(where, sample, ratio, result);
    body.append(tr);
  }
  const failing = pairs.filter((p) => p.verdict === "fail");
  const unchecked = pairs.filter((p) => p.verdict === "unchecked");
  const summary = $("contrast-summary");
  summary.className = `summary-line ${failing.length ? "bad" : unchecked.length ? "warn" : "good"}`;
  summary.textContent = failing.length
    ? `${failing.length} of ${pairs.length} pairs fail WCAG 2.2 AA: ${failing.map((p) => `${p.foreground.token} on ${p.background.token} (${p.scheme})`).join("; ")}.`
    : unchecked.length
      ? `${unchecked.length} pairs could not be checked (a colour that is not #rrggbb, rgb() or hsl()); the rest pass.`
      : `All ${pairs.length} pairs pass WCAG 2.2 AA.`;
}

function renderProblems() {
  const box = $("config-problems");
  box.replaceChildren();
  const c = state.check;
  if (!c) return;
  const configProblems = c.errors.filter((e) => !isContrast(e));
  const heading = document.createElement("p");
  heading.className = `summary-line ${configProblems.length ? "bad" : "good"}`;
  heading.textContent = configProblems.length
    ? `${configProblems.length} problem${configProblems.length === 1 ? "" : "s"} in this config:`
    : "The prompt takes this config.";
  box.append(heading);
  const list = document.createElement("ul");
  for (const issue of [...configProblems, ...c.warnings]) {
    const li = document.createElement("li");
    const path = document.createElement("code");
    path.textContent = issue.path || "(the whole config)";
    li.append(path, `: ${c.warnings.includes(issue) ? "warning: " : ""}${issue.message}`);
    list.append(li);
  }
  if (list.children.length) box.append(list);
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function renderWording() {
  const box = $("wording");
  box.replaceChildren();
  const rows = state.check?.wording;
  if (!rows) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "Shown once the config has no problems.";
    box.append(p);
    return;
  }
  const list = document.createElement("ul");
  list.className = "wording";
  for (const w of rows) {
    const li = document.createElement("li");
    li.dataset.partner = w.partnerId;
    const name = document.createElement("strong");
    name.textContent = w.partnerName;
    const notice = document.createElement("code");
    notice.textContent = `${w.noticeId} v${w.version}`;
    const now = document.createElement("p");
    now.className = "as-configured";
    now.textContent = w.answers === 0
      ? "No patron has answered yet: a change asks no one again."
      : `${plural(w.answers, "patron has", "patrons have")} answered. As configured: ${w.asConfigured.askedAgain} asked again for the wording, ${w.asConfigured.askedAnyway} asked again anyway (lapsed or deferred), ${w.asConfigured.kept} kept.`;
    const next = document.createElement("p");
    next.className = "if-changed";
    next.textContent = `Changing the wording means version ${w.nextVersion}: ${plural(w.ifChanged.askedAgain, "answer", "answers")} asked again.`;
    li.append(name, " ", notice, now, next);
    if (w.changedWithoutNewVersion.length) {
      const warn = document.createElement("p");
      warn.className = "token-problem changed-text";
      warn.textContent = `The ${w.changedWithoutNewVersion.join(", ")} text differs from what patrons saw as version ${w.version}: give the notice version ${w.nextVersion}, or the records will hold words no patron was shown under that version.`;
      li.append(warn);
    }
    list.append(li);
  }
  box.append(list);
}

function isContrast(issue) {
  return (state.check?.contrast || []).some((p) => p.message === issue.message);
}

// ---- The previews ----------------------------------------------------------

/** An earlier answer for the first two partners, for the preference centre. */
function earlier(config) {
  const day = new Date(Date.now() - 40 * 86400000).toISOString();
  return (config.partners || []).slice(0, 2).map((p, i) => ({
    partnerId: p.id,
    state: i === 0 ? "given" : "refused",
    noticeId: p.notice?.id,
    noticeVersion: p.notice?.version || 1,
    decidedAt: day,
    channels: i === 0 ? (p.notice?.channels || ["email"]).slice(0, 1) : [],
  }));
}

/** Waits (a few seconds at most) until the prompt shows what `shown` looks for. */
async function until(shown, ms = 5000) {
  const end = Date.now() + ms;
  while (!shown() && Date.now() < end) await settle();
}

/** A moment for the prompt to re-render. */
function settle() {
  return new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
}

/** Chooses "Yes" (with its first channel) for the first question and "No" for the rest. */
async function answer(el) {
  // Mounting resolves before the first render reaches the DOM: wait for it.
  await until(() => el.shadowRoot?.querySelector('fieldset.q input[type="radio"]'));
  const root = el.shadowRoot;
  if (!root) return;
  const names = [...new Set([...root.querySelectorAll('fieldset.q input[type="radio"]')].map((r) => r.name))];
  for (const [i, name] of names.entries()) {
    root.querySelector(`input[type="radio"][name="${CSS.escape(name)}"][value="${i === 0 ? "yes" : "no"}"]`)?.click();
  }
  // A yes with a choice of channels needs one: the prompt shows them once it has re-rendered.
  await settle();
  const channels = root.querySelector("fieldset.q fieldset.channels");
  if (channels && !channels.querySelector("input:checked")) channels.querySelector('input[type="checkbox"]')?.click();
  await settle();
}

function previewConfig(base, st) {
  const { theme: t, ...rest } = base;
  let c = {
    ...rest,
    customerId: `studio-${st.id}-${Math.random().toString(36).slice(2, 10)}`,
    locale: state.language,
    token: undefined,
    preferences: [],
    theme: { preset: state.scheme },
  };
  if (st.tweak) c = st.tweak(c);
  delete c.token;
  return c;
}

async function renderPreviews() {
  const generation = ++state.generation;
  // A preview moves focus as the prompt does for a patron (the errors
  // state's summary takes it): the designer's place is kept.
  const focused = document.activeElement;
  const scroll = [window.scrollX, window.scrollY];
  for (const h of state.handles) { try { h.destroy(); } catch { /* already gone */ } }
  state.handles = [];
  forgetPreviews();
  const box = $("previews");
  box.replaceChildren();
  box.dataset.width = String(state.width);
  box.classList.toggle("dark", state.scheme === "dark");
  applyTokens();
  if (!mountPrompt || !state.config) return;
  const shown = state.previewState === "all" ? STATES : STATES.filter((s) => s.id === state.previewState);
  for (const st of shown) {
    if (generation !== state.generation) return;
    const figure = document.createElement("figure");
    figure.className = "preview";
    figure.dataset.state = st.id;
    const caption = document.createElement("figcaption");
    caption.textContent = `${st.label} · ${state.width} px`;
    const frame = document.createElement("div");
    frame.className = "frame";
    frame.style.setProperty("width", `${state.width}px`);
    const host = document.createElement("div");
    host.className = "prompt-host";
    frame.append(host);
    const scroll = document.createElement("div");
    scroll.className = "scroll";
    scroll.tabIndex = 0;
    scroll.setAttribute("role", "region");
    scroll.setAttribute("aria-label", `${st.label}, ${state.width} px wide`);
    scroll.append(frame);
    figure.append(caption, scroll);
    box.append(figure);
    const missing = st.needs?.(state.config);
    if (missing) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = missing;
      frame.replaceChildren(p);
      continue;
    }
    try {
      const handle = await mountPrompt(host, previewConfig(state.config, st), { embed: "demo" });
      if (generation !== state.generation) { handle.destroy(); return; }
      state.handles.push(handle);
      await until(() => host.shadowRoot?.querySelector("[part=root]"));
      await st.after?.(handle, host);
      // A newer render replaced this one while it was being driven.
      if (generation !== state.generation) return;
      figure.dataset.mounted = "true";
    } catch (e) {
      const p = document.createElement("p");
      p.className = "token-problem";
      const issues = e?.errors || [];
      p.textContent = issues.length
        ? `The prompt refused this config: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`
        : `The prompt could not mount: ${e?.message || e}`;
      frame.append(p);
      figure.dataset.mounted = "false";
    }
  }
  if (focused && focused !== document.body && document.contains(focused)) focused.focus({ preventScroll: true });
  window.scrollTo(...scroll);
  box.dataset.ready = String(generation);
}

// ---- Putting it together ---------------------------------------------------

let checkTimer = null;
let previewTimer = null;

/** The config changed: show it, check it, and (for wording) remount. */
function changed({ remount = true, fromText = false } = {}) {
  if (!fromText) $("config-text").value = JSON.stringify(state.config, null, 2);
  applyTokens();
  clearTimeout(checkTimer);
  checkTimer = setTimeout(runCheck, 200);
  if (remount) {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(renderPreviews, 300);
  }
  $("export-refused").hidden = true;
  $("export-out").hidden = true;
}

async function runCheck() {
  try {
    state.check = await check($("config-text").value);
    showError("");
  } catch (e) {
    if (e.auth) return signIn(e.message);
    showError(`Could not check the config: ${e.message}`);
    return;
  }
  renderContrast();
  renderColourRows();
  renderProblems();
  renderWording();
  document.body.dataset.checked = String(Date.now());
}

function signIn(message) {
  $("workspace").hidden = true;
  $("sign-in-panel").hidden = false;
  if (state.key) showError(message);
}

function refuseExport() {
  const failing = (state.check?.contrast || []).filter((p) => p.verdict === "fail");
  const configProblems = (state.check?.errors || []).filter((e) => !isContrast(e));
  if (!state.check || (!failing.length && !configProblems.length)) return false;
  const box = $("export-refused");
  box.replaceChildren();
  const p = document.createElement("p");
  p.textContent = failing.length
    ? `Not exported: ${failing.length} pair${failing.length === 1 ? "" : "s"} of colours fail WCAG 2.2 AA contrast.`
    : `Not exported: the config has ${configProblems.length} problem${configProblems.length === 1 ? "" : "s"} (listed above).`;
  const list = document.createElement("ul");
  for (const pair of failing) {
    const li = document.createElement("li");
    li.textContent = pair.message;
    list.append(li);
  }
  box.append(p, list);
  box.hidden = false;
  $("export-out").hidden = true;
  box.focus();
  return true;
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function wire() {
  const select = $("state");
  select.append(new Option("Every state", "all"));
  for (const st of STATES) select.append(new Option(st.label, st.id));
  select.addEventListener("change", () => { state.previewState = select.value; renderPreviews(); });
  $("language").addEventListener("change", (e) => { state.language = e.target.value; renderPreviews(); });
  for (const r of document.querySelectorAll('input[name="width"]')) r.addEventListener("change", () => { state.width = Number(r.value); renderPreviews(); });
  for (const r of document.querySelectorAll('input[name="scheme"]')) r.addEventListener("change", () => { state.scheme = r.value; renderPreviews(); });
  for (const r of document.querySelectorAll('input[name="edit-scheme"]')) {
    r.addEventListener("change", () => {
      state.editScheme = r.value;
      // Editing a scheme shows it.
      state.scheme = r.value;
      $(`scheme-${r.value}`).checked = true;
      renderColourRows();
      renderPreviews();
    });
  }
  $("preset").addEventListener("change", (e) => { theme().preset = e.target.value; changed({ remount: false }); });
  $("config-text").addEventListener("input", () => {
    try {
      state.config = JSON.parse($("config-text").value);
      $("config-text").removeAttribute("aria-invalid");
      changed({ fromText: true });
      renderShapeRows();
      $("preset").value = theme().preset || "auto";
    } catch {
      $("config-text").setAttribute("aria-invalid", "true");
      clearTimeout(checkTimer);
      checkTimer = setTimeout(runCheck, 200); // the host names the line and column
    }
  });
  $("config-file").addEventListener("change", async (e) => {
    const file = e.target.files?.[0];
    if (!file) return;
    $("config-text").value = await file.text();
    $("config-text").dispatchEvent(new Event("input"));
  });
  $("export-css").addEventListener("click", () => {
    if (refuseExport()) return;
    $("export-text").value = exportCss();
    $("export-out").hidden = false;
    $("export-text").focus();
    $("export-text").select();
  });
  $("export-json").addEventListener("click", () => {
    if (refuseExport()) return;
    download("consent-prompt-config.json", JSON.stringify(state.config, null, 2) + "\n", "application/json");
  });
  $("sign-in").addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = $("admin-key").value.trim();
    if (!key) { $("admin-key").setAttribute("aria-invalid", "true"); return showError("Enter an admin key."); }
    state.key = key;
    try {
      state.check = await check(state.config);
    } catch (err) {
      state.key = null;
      return showError(err.auth ? `That key was refused: ${err.message}` : err.message);
    }
    showError("");
    open();
  });
}

function open() {
  document.body.dataset.view = "signed-in";
  $("sign-in-panel").hidden = true;
  $("workspace").hidden = false;
  $("preset").value = theme().preset || "auto";
  $("config-text").value = JSON.stringify(state.config, null, 2);
  renderShapeRows();
  renderContrast();
  renderColourRows();
  renderProblems();
  renderWording();
  renderPreviews();
}

async function start() {
  wire();
  try {
    const r = await realFetch("/demo-config.json");
    state.config = r.ok ? await r.json() : null;
  } catch { state.config = null; }
  state.config ||= {
    endpoint: "/api/v1/consent-records",
    customerId: "C-1",
    venue: { id: "your-venue", name: "Your Venue" },
    partners: [],
    basket: { lines: [] },
  };
  try {
    ({ mount: mountPrompt } = await import("/consent-prompt/consent-prompt.js"));
  } catch (e) {
    showError(`The prompt could not be loaded from /consent-prompt/ (${e.message}): build it with trunk first.`);
  }
  try {
    state.check = await check(state.config);
  } catch (e) {
    if (e.auth) return signIn(e.message);
    showError(`Could not check the config: ${e.message}`);
  }
  open();
}

start();
