// A React 19 checkout form with <consent-prompt>: no wrapper component.
// React 19 sets the element's properties (config, token, required, name…)
// directly. The element commits the answers before the form is submitted,
// so onSubmit sees one "consent" entry per stored record id.
import { useEffect, useRef, useState, type FormEvent } from "react";
import "@consent-prompt/widget/element"; // registers <consent-prompt>
import type { ConsentPromptElement } from "@consent-prompt/widget";

interface Sent {
  email: FormDataEntryValue | null;
  consent: FormDataEntryValue[];
}

/**
 * A checkout token for the patron. Your backend issues it with the checkout
 * page; the demo host mints one at POST /demo/token (only with --demo).
 */
async function checkoutToken(): Promise<string | null> {
  const response = await fetch("/demo/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ venueId: "riverside", customerId: "EX-1" }), // consent-config.json's patron
  });
  if (!response.ok) return null;
  const { token } = (await response.json()) as { token: string; expiresAt: string };
  return token;
}

export function Checkout() {
  const [token, setToken] = useState<string | null>(null);
  const [sent, setSent] = useState<Sent | null>(null);
  const prompt = useRef<ConsentPromptElement>(null);

  useEffect(() => {
    void checkoutToken().then(setToken);
  }, []);

  // Tokens are short-lived: a refused one holds the records until a new one comes.
  useEffect(() => {
    const element = prompt.current;
    if (!element) return undefined;
    const renew = (event: HTMLElementEventMap["consent:error"]) => {
      if (event.detail.code === "unauthorized") void checkoutToken().then(setToken);
    };
    element.addEventListener("consent:error", renew);
    return () => element.removeEventListener("consent:error", renew);
  }, [token]);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault(); // a real checkout would post to its server
    const data = new FormData(event.currentTarget);
    setSent({ email: data.get("email"), consent: data.getAll("consent") });
  }

  return (
    <main>
      <h1>Checkout: a React form</h1>
      <form id="checkout" onSubmit={onSubmit}>
        <p className="field">
          <label htmlFor="email">Email address</label>
          <input id="email" name="email" type="email" autoComplete="email" defaultValue="patron@example.org" />
        </p>
        {token && (
          <consent-prompt
            ref={prompt}
            required
            name="consent"
            config="/examples/consent-config.json"
            token={token}
            locale="en-GB"
            theme="light"
          />
        )}
        <p>
          <button id="pay" type="submit">Continue to payment</button>
        </p>
      </form>
      <h2>What the form sent</h2>
      <pre id="sent" aria-live="polite">{sent ? JSON.stringify(sent, null, 2) : "Nothing yet."}</pre>
      <p>
        <a href="/">Back to the demo</a>
      </p>
    </main>
  );
}
