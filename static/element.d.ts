// Type declarations for element.js: importing it registers <consent-prompt>
// (see consent-prompt.d.ts for the element, its events and the config).
export { ConsentPromptElement } from "./consent-prompt.js";
