//! Locale choice and the translation fallback chain.
//!
//! The widget asks for one locale (from its config, then `<html lang>`, then
//! `navigator.languages`); every lookup then walks exact tag → base language
//! → the default locale. The locale that actually supplied a text is what a
//! record states as `notice.language`.

/// The locale used when nothing better is known.
pub const DEFAULT_LOCALE: &str = "en-GB";

/// Puts a BCP 47 tag in its usual case: `EN-gb` → `en-GB`, `zh-hant-tw` → `zh-Hant-TW`.
/// Underscores (`en_GB`, as some systems write) become hyphens.
pub fn canonical_tag(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    for (i, part) in tag.trim().split(['-', '_']).enumerate() {
        if i > 0 {
            out.push('-');
        }
        match (i, part.len()) {
            (0, _) => out.push_str(&part.to_ascii_lowercase()),
            (_, 2) => out.push_str(&part.to_ascii_uppercase()),
            (_, 4) => {
                let mut cs = part.chars();
                if let Some(first) = cs.next() {
                    out.push(first.to_ascii_uppercase());
                    out.push_str(&cs.as_str().to_ascii_lowercase());
                }
            }
            _ => out.push_str(&part.to_ascii_lowercase()),
        }
    }
    out
}

/// Whether `tag` looks like a BCP 47 language tag (letters, digits and
/// hyphens; a 2–3 letter primary language subtag; subtags of 1–8 characters).
pub fn is_valid_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let Some(primary) = parts.next() else {
        return false;
    };
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The primary language subtag: `cy-GB` → `cy`.
pub fn base_language(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

/// The tags to try, in order, without repeats: exact, base language, default,
/// default's base language.
pub fn fallback_chain(locale: &str, default_locale: &str) -> Vec<String> {
    let mut chain: Vec<String> = Vec::with_capacity(4);
    for tag in [
        canonical_tag(locale),
        canonical_tag(base_language(locale)),
        canonical_tag(default_locale),
        canonical_tag(base_language(default_locale)),
    ] {
        if !tag.is_empty() && !chain.contains(&tag) {
            chain.push(tag);
        }
    }
    chain
}

/// Picks the requested locale from the first source that names one
/// (config, then `<html lang>`, then each of `navigator.languages`).
pub fn requested_locale<'a>(sources: impl IntoIterator<Item = Option<&'a str>>) -> String {
    sources
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|t| is_valid_tag(&canonical_tag(t)))
        .map(canonical_tag)
        .unwrap_or_else(|| DEFAULT_LOCALE.to_owned())
}

/// Of the `supported` locales, the one that best serves `requested`:
/// exact match, then same base language, then the default.
pub fn negotiate<'a>(requested: &str, supported: &[&'a str], default_locale: &'a str) -> &'a str {
    let requested = canonical_tag(requested);
    let base = base_language(&requested);
    supported
        .iter()
        .find(|s| s.eq_ignore_ascii_case(&requested))
        .or_else(|| {
            supported
                .iter()
                .find(|s| base_language(s).eq_ignore_ascii_case(base))
        })
        .copied()
        .unwrap_or(default_locale)
}

/// The languages of an `Accept-Language` header, most wanted first (by
/// `q`, then by order), as `navigator.languages` would list them: `*`,
/// `q=0` and tags that are not language tags are left out. At most 16 are
/// read, so a long header costs nothing.
pub fn accept_language(header: &str) -> Vec<String> {
    let mut weighted: Vec<(u16, usize, String)> = header
        .split(',')
        .take(16)
        .enumerate()
        .filter_map(|(i, item)| {
            let mut parts = item.split(';');
            let tag = canonical_tag(parts.next()?.trim());
            if !is_valid_tag(&tag) {
                return None;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .next()
                .map_or(Some(1000), |q| {
                    q.trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .map(|q| (q * 1000.0).round() as u16)
                })?;
            (q > 0).then_some((q, i, tag))
        })
        .collect();
    weighted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    weighted.into_iter().map(|(_, _, tag)| tag).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_lists_languages_as_a_browser_would() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("cy", &["cy"]),
            (
                "fr-FR,fr;q=0.9,en-GB;q=0.8,en;q=0.7",
                &["fr-FR", "fr", "en-GB", "en"],
            ),
            ("en;q=0.5, cy-gb", &["cy-GB", "en"]),
            ("de;q=0, *;q=0.1, en", &["en"]),
            ("x;q=1, 12, cy;q=2, fr;q=abc, de", &["de"]),
            ("en;q=0.8, cy;q=0.8", &["en", "cy"]),
        ];
        for (header, want) in cases {
            assert_eq!(accept_language(header), *want, "{header:?}");
        }
        let long = vec!["en"; 100].join(",") + ",cy";
        assert!(!accept_language(&long).contains(&"cy".to_owned()));
    }

    #[test]
    fn canonicalises_tags() {
        for (raw, want) in [
            ("EN-gb", "en-GB"),
            ("en_GB", "en-GB"),
            ("cy", "cy"),
            ("zh-hant-tw", "zh-Hant-TW"),
            (" fr ", "fr"),
        ] {
            assert_eq!(canonical_tag(raw), want, "{raw}");
        }
    }

    #[test]
    fn validates_tags() {
        for good in ["en", "en-GB", "cy", "zh-Hant-TW", "de-CH-1996"] {
            assert!(is_valid_tag(good), "{good}");
        }
        for bad in [
            "",
            "e",
            "english",
            "en-",
            "en GB",
            "<script>",
            "en-toolongsubtag",
        ] {
            assert!(!is_valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn fallback_chain_is_exact_then_base_then_default() {
        assert_eq!(
            fallback_chain("fr-CA", "en-GB"),
            ["fr-CA", "fr", "en-GB", "en"]
        );
        assert_eq!(fallback_chain("cy", "en-GB"), ["cy", "en-GB", "en"]);
        assert_eq!(fallback_chain("en-GB", "en-GB"), ["en-GB", "en"]);
    }

    #[test]
    fn requested_locale_takes_the_first_valid_source() {
        assert_eq!(requested_locale([None, Some("cy"), Some("fr")]), "cy");
        assert_eq!(requested_locale([Some("de-de"), Some("cy")]), "de-DE");
        assert_eq!(
            requested_locale([Some(""), Some("not a tag"), Some("fr")]),
            "fr"
        );
        assert_eq!(requested_locale([None, None]), DEFAULT_LOCALE);
    }

    #[test]
    fn negotiates_against_supported_locales() {
        let supported = ["en-GB", "cy", "fr", "de"];
        assert_eq!(negotiate("cy-GB", &supported, "en-GB"), "cy");
        assert_eq!(negotiate("fr-CA", &supported, "en-GB"), "fr");
        assert_eq!(negotiate("en-US", &supported, "en-GB"), "en-GB");
        assert_eq!(negotiate("es", &supported, "en-GB"), "en-GB");
        assert_eq!(negotiate("DE", &supported, "en-GB"), "de");
    }
}
