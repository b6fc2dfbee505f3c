//! The prompt's stylesheet, adopted into its shadow root (no inline styles,
//! so a strict `style-src 'self'` policy holds). Venues theme it through the
//! `--cp-*` custom properties, which inherit through the shadow boundary.

use consent_core::config::Theme;

/// The dark preset's fallbacks, written once for both `.cp.dark` and
/// `.cp.auto` under `prefers-color-scheme: dark`.
macro_rules! dark_palette {
    () => {
        "
  --_accent: var(--cp-accent, #8ab4ff);
  --_accent-text: var(--cp-accent-text, #0b1220);
  --_text: var(--cp-text, #f2f2f2);
  --_muted: var(--cp-muted, #c9c9c9);
  --_bg: var(--cp-background, #121212);
  --_surface: var(--cp-surface, #1e1e1e);
  --_border: var(--cp-border, #a0a0a0);
  --_error: var(--cp-error, #ffb4ab);
"
    };
}

/// Base styles. Private `--_x` variables read the public `--cp-x` tokens
/// with the light preset as fallback; the dark preset swaps the fallbacks.
pub const BASE_CSS: &str = concat!(
    r#"
:host { display: block; }
:host([hidden]) { display: none; }
.cp {
  --_accent: var(--cp-accent, #1d4ed8);
  --_accent-text: var(--cp-accent-text, #ffffff);
  --_text: var(--cp-text, #1a1a1a);
  --_muted: var(--cp-muted, #4a4a4a);
  --_bg: var(--cp-background, #ffffff);
  --_surface: var(--cp-surface, #f6f6f4);
  --_border: var(--cp-border, #6b6b6b);
  --_error: var(--cp-error, #b3261e);
  --_radius: var(--cp-radius, 6px);
  --_font: var(--cp-font-family, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  --_size: var(--cp-font-size, 1rem);
  --_space: var(--cp-spacing, 1rem);
  --_focus: var(--cp-focus-ring, #ffbf47);
  box-sizing: border-box;
  color: var(--_text);
  background: var(--_bg);
  font-family: var(--_font);
  font-size: var(--_size);
  line-height: 1.5;
  padding: var(--_space);
  border-radius: var(--_radius);
  max-width: 100%;
  overflow-wrap: anywhere;
}
"#,
    ".cp.dark {",
    dark_palette!(),
    "}\n@media (prefers-color-scheme: dark) {\n  .cp.auto {",
    dark_palette!(),
    "}\n}\n",
    r#".cp *, .cp *::before, .cp *::after { box-sizing: inherit; }
.cp h1, .cp h2, .cp h3, .cp h4, .cp h5, .cp h6 { font-size: 1.25em; line-height: 1.3; margin: 0 0 calc(var(--_space) / 2); }
.cp p { margin: 0 0 calc(var(--_space) / 2); }
.cp .muted { color: var(--_muted); font-size: 0.9375em; }
.cp form { margin: 0; }
.cp fieldset.q {
  border: 1px solid var(--_border);
  border-radius: var(--_radius);
  background: var(--_surface);
  margin: 0 0 var(--_space);
  padding: calc(var(--_space) * 0.75) var(--_space) var(--_space);
  min-width: 0;
}
.cp fieldset.q.invalid { border: 3px solid var(--_error); }
.cp legend { font-weight: 700; padding: 0 0.25em; font-size: 1.0625em; }
.cp .notice { white-space: pre-line; }
.cp .changed { border-left: 4px solid var(--_accent); padding-left: 0.5em; }
.cp a { color: var(--_accent); text-decoration: underline; text-underline-offset: 2px; }
.cp .choices { display: flex; flex-wrap: wrap; gap: 0.5em 1.5em; margin-top: 0.5em; }
.cp .choice { display: flex; align-items: flex-start; gap: 0.5em; min-height: 44px; }
.cp .choice label { padding: 0.6em 0; cursor: pointer; }
.cp input[type="radio"], .cp input[type="checkbox"] {
  width: 24px; height: 24px; margin: 0.6em 0 0; flex: none; accent-color: var(--_accent); cursor: pointer;
}
.cp fieldset.channels { border: 0; margin: 0.5em 0 0; padding: 0; }
.cp fieldset.channels legend { font-weight: 600; font-size: 1em; padding: 0; }
.cp .error { color: var(--_error); font-weight: 700; margin: 0.25em 0; }
.cp .error::before { content: "⚠ "; }
.cp .summary {
  border: 3px solid var(--_error);
  border-radius: var(--_radius);
  padding: var(--_space);
  margin: 0 0 var(--_space);
  background: var(--_bg);
}
.cp .summary ul { margin: 0; padding-left: 1.25em; }
.cp .summary a { color: var(--_error); font-weight: 700; }
.cp button {
  font: inherit; font-weight: 700;
  color: var(--_accent-text); background: var(--_accent);
  border: 2px solid var(--_accent); border-radius: var(--_radius);
  padding: 0.6em 1.4em; min-height: 44px; min-width: 44px; cursor: pointer;
}
.cp button[disabled] { opacity: 0.7; cursor: progress; }
.cp .status:empty { display: none; }
.cp .status { margin-top: var(--_space); font-weight: 600; }
.cp .receipt:empty { display: none; }
.cp .receipt p { margin: var(--_space) 0 0; }
.cp .receipt ul { margin: 0; padding-left: 1.25em; }
.cp .partners { margin: 0.25em 0 0.5em; padding-left: 1.25em; }
.cp .script { font-size: 1.0625em; border-left: 4px solid var(--_accent); padding-left: 0.75em; }
.cp .keys { font-size: 0.875em; color: var(--_muted); }
.cp kbd { font: inherit; border: 1px solid var(--_border); border-radius: 3px; padding: 0 0.3em; }
.cp.compact { padding: calc(var(--_space) / 2); }
.cp details { margin: 0 0 0.5em; }
.cp summary { cursor: pointer; color: var(--_accent); text-decoration: underline; min-height: 24px; }
.cp blockquote { margin: 0.5em 0 0; padding-left: 0.75em; border-left: 4px solid var(--_border); white-space: pre-line; }
.cp.compact fieldset.q { padding: 0.5em 0.75em; margin-bottom: 0.5em; }
.cp .vh {
  position: absolute !important; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap;
}
.cp :focus-visible, .cp .summary:focus {
  outline: 3px solid var(--_focus);
  outline-offset: 2px;
  box-shadow: 0 0 0 5px var(--_text);
}
.cp a:focus-visible { background: var(--_focus); color: #0b0c0c; box-shadow: 0 4px 0 #0b0c0c; outline: none; }
@media (prefers-reduced-motion: no-preference) {
  .cp button, .cp fieldset.q { transition: border-color 120ms ease-out, background-color 120ms ease-out; }
}
@media (prefers-reduced-motion: reduce) {
  .cp *, .cp *::before, .cp *::after { transition: none !important; animation: none !important; scroll-behavior: auto !important; }
}
@media (forced-colors: active) {
  .cp fieldset.q, .cp .summary, .cp button { border-color: CanvasText; forced-color-adjust: auto; }
  .cp :focus-visible, .cp .summary:focus { outline: 3px solid Highlight; box-shadow: none; }
  .cp .error, .cp .summary a { color: LinkText; }
}
"#
);

/// The venue's token values as one rule on the host element. Values were
/// checked by `consent-core` to be plain CSS values, so they cannot end the
/// declaration or inject a rule.
pub fn token_css(theme: &Theme) -> String {
    let mut css = String::from(":host {");
    for (name, value) in &theme.tokens {
        css.push_str(&format!(" --cp-{name}: {value};"));
    }
    css.push_str(" }");
    css
}
