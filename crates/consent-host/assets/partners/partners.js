// The partner page: summary by channel, and the CSV download. The key is
// kept in memory only and sent as a bearer credential to this host.
const $ = (id) => document.getElementById(id);
let current = null; // { partner, key }
let lastUrl = null;

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  box.focus();
}

async function api(path, key, accept = "application/json") {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${key}`, Accept: accept } });
  if (!response.ok) {
    let message = `The host answered ${response.status}.`;
    try {
      const body = await response.json();
      if (body?.error?.message) message = `${message} ${body.error.message}.`;
    } catch {
      /* not JSON: keep the status */
    }
    if (response.status === 401) message = "That key is not known, or it was revoked.";
    if (response.status === 403) message = "That key does not speak for this partner.";
    throw new Error(message);
  }
  return response;
}

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("error").hidden = true;
  const partner = $("partner-id").value.trim();
  const key = $("partner-key").value.trim();
  if (!partner || !key) {
    showError("Enter both your partner id and your key.");
    (partner ? $("partner-key") : $("partner-id")).focus();
    return;
  }
  $("status").textContent = "Counting your contacts…";
  try {
    const summary = await (await api(`/api/v1/partners/${encodeURIComponent(partner)}/summary`, key)).json();
    current = { partner, key };
    $("result-partner").textContent = partner;
    $("total").textContent = String(summary.contacts);
    const rows = $("by-channel");
    rows.replaceChildren(
      ...Object.entries(summary.byChannel).map(([channel, count]) => {
        const tr = document.createElement("tr");
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = channel;
        const td = document.createElement("td");
        td.textContent = String(count);
        tr.append(th, td);
        return tr;
      })
    );
    $("result").hidden = false;
    $("download-link").hidden = true;
    $("status").textContent = `${summary.contacts} contacts.`;
    $("result-title").focus();
  } catch (e) {
    $("status").textContent = "";
    showError(e.message);
  }
});

$("download").addEventListener("click", async () => {
  if (!current) return;
  $("status").textContent = "Preparing the CSV…";
  try {
    const response = await api(
      `/api/v1/partners/${encodeURIComponent(current.partner)}/contacts?format=csv`,
      current.key,
      "text/csv"
    );
    const blob = await response.blob();
    if (lastUrl) URL.revokeObjectURL(lastUrl);
    lastUrl = URL.createObjectURL(blob);
    const link = $("download-link");
    link.href = lastUrl;
    link.download = `${current.partner}-contacts.csv`;
    link.hidden = false;
    link.click();
    $("status").textContent = "The CSV is ready. If it did not save by itself, use Save the CSV.";
  } catch (e) {
    $("status").textContent = "";
    showError(e.message);
  }
});
