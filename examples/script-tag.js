// @ts-check
// The page's own script: embed.js mounts the prompt; this listens and commits.
/// <reference path="../static/consent-prompt.d.ts" />
document.addEventListener("DOMContentLoaded", () => {
  const target = /** @type {HTMLElement} */ (document.getElementById("consent"));
  const result = /** @type {HTMLElement} */ (document.getElementById("result"));
  target.addEventListener("consent:ready", (event) => {
    result.textContent = `${event.detail.state.questions.length} question(s) to answer.`;
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
