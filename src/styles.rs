//! The prompt's stylesheet, adopted into its shadow root (no inline styles,
//! so a strict `style-src 'self'` policy holds). Venues theme it through the
//! `--cp-*` custom properties, which inherit through the shadow boundary.

use consent_core::config::Theme;

/// Base styles (`static/consent-prompt.css`, also served beside the
/// widget for server-rendered prompts to link), without its comments
/// (`build.rs`).
pub const BASE_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/consent-prompt.css"));

/// The venue's token values as one rule on the host element. Values were
/// checked by `consent-core` to be plain CSS values, so they cannot end the
/// declaration or inject a rule.
pub fn token_css(theme: &Theme) -> String {
    let mut css = String::from(":host {");
    for (name, value) in &theme.tokens {
        css.push_str(&format!(" --cp-{name}: {value};"));
    }
    for (name, value) in &theme.dark_tokens {
        css.push_str(&format!(" --cp-dark-{name}: {value};"));
    }
    css.push_str(" }");
    css
}
