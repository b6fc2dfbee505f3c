//! Words on screen: the prompt's own strings and the venue's notices, in the
//! patron's language, with a fallback that never leaves a blank.

use std::cell::RefCell;

use consent_core::config::Config;
use consent_core::domain::{localized, LocalizedText};
use consent_core::i18n::{self, Key};
use consent_core::plan::Question;
use consent_core::record::{self, ShownNotice};

use crate::platform;

thread_local! {
    static WARNED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Logs a console warning once per page for each missing translation.
fn warn_once(what: String) {
    let first = WARNED.with(|w| {
        let mut warned = w.borrow_mut();
        let new = !warned.contains(&what);
        if new {
            warned.push(what.clone());
        }
        new
    });
    if first {
        platform::warn(&what);
    }
}

/// The prompt's strings for one locale.
pub struct Texts<'a> {
    pub config: &'a Config,
    pub locale: &'a str,
}

impl Texts<'_> {
    pub fn get(&self, key: Key) -> String {
        let t = i18n::text(&self.config.strings, self.locale, key);
        if t.fell_back {
            warn_once(format!(
                "missing translation: \"{}\" for locale \"{}\"; showing \"{}\" instead",
                key.name(),
                self.locale,
                t.locale
            ));
        }
        t.text
    }

    /// The locale whose text is shown for `key`: dates and numbers inside that
    /// sentence are formatted for the same locale.
    pub fn locale_of(&self, key: Key) -> String {
        i18n::text(&self.config.strings, self.locale, key).locale
    }

    pub fn fill(&self, key: Key, args: &[(&str, &str)]) -> String {
        i18n::fill(&self.get(key), args)
    }

    /// A venue text (notice, summary, what-changed) in the best locale available.
    pub fn venue(&self, text: &LocalizedText, what: &str) -> Option<(String, String)> {
        let (lang, t) = localized(text, self.locale, &self.config.default_locale)?;
        let wanted = consent_core::locale::fallback_chain(self.locale, "");
        if !wanted.iter().take(2).any(|w| w == lang) && !text.is_empty() {
            warn_once(format!(
                "missing translation: {what} for locale \"{}\"; showing \"{lang}\" instead",
                self.locale
            ));
        }
        Some((lang.to_owned(), t.to_owned()))
    }

    /// Partner names as a natural list: "A, B and C".
    pub fn names(&self, names: &[&str]) -> String {
        i18n::join_list(names, &self.get(Key::And))
    }
}

/// The notice exactly as shown for a question: what the record will hold
/// (the rule is `consent_core::record::shown_notice`); a missing
/// translation is warned about once per page.
pub fn shown_notice(config: &Config, locale: &str, question: &Question) -> ShownNotice {
    let shown = record::shown_notice(config, locale, question);
    if let Some(what) = shown.missing_translation {
        warn_once(what);
    }
    shown.notice
}
