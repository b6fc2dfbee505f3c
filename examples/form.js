// @ts-check
// <consent-prompt> in a plain HTML form, with no framework and no wrapper.
// The element (loaded by form.html from /consent-prompt/element.js) commits
// the answers before the form is submitted; the form data then holds one
// "consent" entry per record id. Here the page shows what would be sent;
// a real checkout would let the form post to its server.
const form = /** @type {HTMLFormElement} */ (document.getElementById("checkout"));
const sent = /** @type {HTMLElement} */ (document.getElementById("sent"));
await customElements.whenDefined("consent-prompt");
const element = form.querySelector("consent-prompt"); // a ConsentPromptElement (HTMLElementTagNameMap)
if (!element) throw new Error("no <consent-prompt> in the form");

element.token = (await checkoutToken()) ?? null;

// Tokens are short-lived: when the backend refuses an expired one, the
// records are held until a fresh token arrives.
element.addEventListener("consent:error", async (event) => {
  if (event.detail.code === "unauthorized") element.token = (await checkoutToken()) ?? null;
});

form.addEventListener("submit", (event) => {
  // Runs after the element has committed the answers.
  event.preventDefault();
  const data = new FormData(form);
  sent.textContent = JSON.stringify({ email: data.get("email"), consent: data.getAll("consent") }, null, 2);
});

/**
 * A checkout token for this patron. Your backend issues it with the checkout
 * page; the demo host mints one at POST /demo/token (only with --demo).
 * @returns {Promise<string | undefined>}
 */
async function checkoutToken() {
  const response = await fetch("/demo/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ venueId: "riverside", customerId: "EX-1" }), // consent-config.json's patron
  });
  return response.ok ? (await response.json()).token : undefined;
}

export {}; // a module (top-level await)
