//! The theme's colours as the prompt draws them, and the contrast WCAG 2.2
//! AA asks of every pair it draws: 4.5:1 for text (1.4.3), 3:1 for what
//! identifies a control or its state (1.4.11: borders, the focus ring).
//!
//! The colours a venue leaves out are the stylesheet's own fallbacks,
//! read from `static/consent-prompt.css` itself ([`defaults`]), so the
//! audit and what a patron sees cannot drift apart. Nothing here runs in
//! the widget: the studio and `consent-host check-config` call it.

use crate::config::{Issue, Theme, ThemePreset};

/// The stylesheet the widget adopts: the one owner of the default colours.
const STYLESHEET: &str = include_str!("../../../static/consent-prompt.css");

/// The two colour schemes; each has its own tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `theme.tokens`, `--cp-NAME`.
    Light,
    /// `theme.darkTokens`, `--cp-dark-NAME`.
    Dark,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Light => "light",
            Scheme::Dark => "dark",
        }
    }

    /// Where a venue sets this scheme's colours in a config.
    pub fn config_path(self) -> &'static str {
        match self {
            Scheme::Light => "theme.tokens",
            Scheme::Dark => "theme.darkTokens",
        }
    }

    /// The schemes a preset draws: `auto` follows the device, so both.
    pub fn drawn_by(preset: ThemePreset) -> &'static [Scheme] {
        match preset {
            ThemePreset::Light => &[Scheme::Light],
            ThemePreset::Dark => &[Scheme::Dark],
            ThemePreset::Auto => &[Scheme::Light, Scheme::Dark],
        }
    }
}

/// The theme tokens that size and set type, shared by both schemes; every
/// other token in `config::THEME_TOKENS` is a colour.
pub const SHAPE_TOKENS: &[&str] = &["radius", "font-family", "font-size", "spacing", "padding"];

/// The tokens that are colours, in `config::THEME_TOKENS` order.
pub fn colour_tokens() -> impl Iterator<Item = &'static str> {
    crate::config::THEME_TOKENS
        .iter()
        .copied()
        .filter(|t| !SHAPE_TOKENS.contains(t))
}

/// WCAG 2.2 1.4.3: text (the prompt has no large text).
pub const TEXT: f64 = 4.5;
/// WCAG 2.2 1.4.11: a control's boundary, its state, the focus indicator.
pub const NON_TEXT: f64 = 3.0;

/// One pair of colours the stylesheet draws, one on the other.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub foreground: &'static str,
    pub background: &'static str,
    pub minimum: f64,
    /// Where the patron meets it, in a designer's words.
    pub drawn: &'static str,
}

/// Every pair `static/consent-prompt.css` draws. A rule that puts one
/// colour on another adds its pair here (the test below holds each pair's
/// tokens to the stylesheet).
pub const PAIRS: &[Pair] = &[
    Pair {
        foreground: "text",
        background: "background",
        minimum: TEXT,
        drawn: "text on the prompt's background",
    },
    Pair {
        foreground: "text",
        background: "surface",
        minimum: TEXT,
        drawn: "a question's wording on its panel",
    },
    Pair {
        foreground: "muted",
        background: "background",
        minimum: TEXT,
        drawn: "secondary text on the background",
    },
    Pair {
        foreground: "muted",
        background: "surface",
        minimum: TEXT,
        drawn: "secondary text (an answer not chosen, once saved) on a question's panel",
    },
    Pair {
        foreground: "accent",
        background: "background",
        minimum: TEXT,
        drawn: "links on the background",
    },
    Pair {
        foreground: "accent",
        background: "surface",
        minimum: TEXT,
        drawn: "a partner's privacy link and the chosen radio on a question's panel",
    },
    Pair {
        foreground: "accent-text",
        background: "accent",
        minimum: TEXT,
        drawn: "the Save button's label on the button",
    },
    Pair {
        foreground: "error",
        background: "background",
        minimum: TEXT,
        drawn: "the error summary on the background",
    },
    Pair {
        foreground: "error",
        background: "surface",
        minimum: TEXT,
        drawn: "an error message and border on a question's panel",
    },
    Pair {
        foreground: "border",
        background: "background",
        minimum: NON_TEXT,
        drawn: "a question's border against the page",
    },
    Pair {
        foreground: "border",
        background: "surface",
        minimum: NON_TEXT,
        drawn: "a question's border against its panel",
    },
    Pair {
        foreground: "focus-ring",
        background: "background",
        minimum: NON_TEXT,
        drawn: "the keyboard focus ring on the background",
    },
    Pair {
        foreground: "focus-ring",
        background: "surface",
        minimum: NON_TEXT,
        drawn: "the keyboard focus ring on a question's panel",
    },
];

/// The stylesheet's fallback for each colour token of `scheme`, as
/// written there (`--_x: var(--cp-NAME, VALUE)` in `.cp`, or
/// `var(--cp-dark-NAME, VALUE)` in `.cp.dark`).
pub fn defaults(scheme: Scheme) -> Vec<(&'static str, &'static str)> {
    let (block, prefix) = match scheme {
        Scheme::Light => (".cp {", "var(--cp-"),
        Scheme::Dark => (".cp.dark {", "var(--cp-dark-"),
    };
    let Some(start) = STYLESHEET.find(block) else {
        return Vec::new();
    };
    let body = &STYLESHEET[start + block.len()..];
    let body = &body[..body.find('}').unwrap_or(body.len())];
    body.split(';')
        .filter_map(|decl| {
            let rest = &decl[decl.find(prefix)? + prefix.len()..];
            let (name, value) = rest.split_once(',')?;
            let value = value.trim().strip_suffix(')')?.trim();
            colour_tokens()
                .find(|t| *t == name.trim())
                .map(|t| (t, value))
        })
        .collect()
}

/// An sRGB colour, opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// WCAG's relative luminance.
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// The contrast ratio of two colours, 1 to 21, in either order.
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// The basic CSS colour keywords; another name is not checked (give it as
/// `#rrggbb` to have it checked).
const NAMED: &[(&str, Rgb)] = &[
    ("black", Rgb(0, 0, 0)),
    ("white", Rgb(255, 255, 255)),
    ("silver", Rgb(192, 192, 192)),
    ("gray", Rgb(128, 128, 128)),
    ("grey", Rgb(128, 128, 128)),
    ("maroon", Rgb(128, 0, 0)),
    ("red", Rgb(255, 0, 0)),
    ("purple", Rgb(128, 0, 128)),
    ("fuchsia", Rgb(255, 0, 255)),
    ("green", Rgb(0, 128, 0)),
    ("lime", Rgb(0, 255, 0)),
    ("olive", Rgb(128, 128, 0)),
    ("yellow", Rgb(255, 255, 0)),
    ("navy", Rgb(0, 0, 128)),
    ("blue", Rgb(0, 0, 255)),
    ("teal", Rgb(0, 128, 128)),
    ("aqua", Rgb(0, 255, 255)),
    ("orange", Rgb(255, 165, 0)),
    ("rebeccapurple", Rgb(102, 51, 153)),
];

/// Why a colour could not be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Not a colour this audit reads (`var()`, `color-mix()`, a name
    /// outside the basic ones, a typo).
    NotAColour,
    /// Partly transparent: what shows through depends on the page.
    Translucent,
}

impl Unreadable {
    pub fn message(&self, value: &str) -> String {
        match self {
            Unreadable::NotAColour => format!(
                "\"{value}\" cannot be checked for contrast: give it as #rrggbb, rgb() or hsl()"
            ),
            Unreadable::Translucent => format!(
                "\"{value}\" is partly transparent, so its contrast depends on the page behind it: give an opaque colour"
            ),
        }
    }
}

/// Reads a CSS colour: `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`
/// and `rgba()` (commas or spaces, numbers or percentages), `hsl()` and
/// `hsla()`, and the basic keywords. Alpha must be 1.
pub fn parse_colour(value: &str) -> Result<Rgb, Unreadable> {
    let v = value.trim().to_ascii_lowercase();
    if let Some(hex) = v.strip_prefix('#') {
        return parse_hex(hex);
    }
    if let Some((_, rgb)) = NAMED.iter().find(|(name, _)| *name == v) {
        return Ok(*rgb);
    }
    if v == "transparent" {
        return Err(Unreadable::Translucent);
    }
    let (function, args) = v
        .strip_suffix(')')
        .and_then(|v| v.split_once('('))
        .ok_or(Unreadable::NotAColour)?;
    let (channels, alpha) = split_args(args).ok_or(Unreadable::NotAColour)?;
    if let Some(alpha) = alpha {
        let a = number_or_percent(alpha, 1.0).ok_or(Unreadable::NotAColour)?;
        if a < 1.0 {
            return Err(Unreadable::Translucent);
        }
    }
    match (function.trim(), channels.as_slice()) {
        ("rgb" | "rgba", [r, g, b]) => {
            let c = |s: &str| number_or_percent(s, 255.0).map(to_byte);
            Ok(Rgb(
                c(r).ok_or(Unreadable::NotAColour)?,
                c(g).ok_or(Unreadable::NotAColour)?,
                c(b).ok_or(Unreadable::NotAColour)?,
            ))
        }
        ("hsl" | "hsla", [h, s, l]) => {
            let hue = hue(h).ok_or(Unreadable::NotAColour)?;
            let s = percent(s).ok_or(Unreadable::NotAColour)?;
            let l = percent(l).ok_or(Unreadable::NotAColour)?;
            Ok(hsl_to_rgb(hue, s, l))
        }
        _ => Err(Unreadable::NotAColour),
    }
}

fn parse_hex(hex: &str) -> Result<Rgb, Unreadable> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Unreadable::NotAColour);
    }
    let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).unwrap_or(0);
    let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
    let (rgb, alpha) = match hex.len() {
        3 => (Rgb(digit(0) * 17, digit(1) * 17, digit(2) * 17), 255),
        4 => (
            Rgb(digit(0) * 17, digit(1) * 17, digit(2) * 17),
            digit(3) * 17,
        ),
        6 => (Rgb(pair(0), pair(2), pair(4)), 255),
        8 => (Rgb(pair(0), pair(2), pair(4)), pair(6)),
        _ => return Err(Unreadable::NotAColour),
    };
    if alpha < 255 {
        Err(Unreadable::Translucent)
    } else {
        Ok(rgb)
    }
}

/// `a, b, c[, d]` or `a b c[ / d]`: the three channels and the alpha.
fn split_args(args: &str) -> Option<(Vec<&str>, Option<&str>)> {
    let (channels, alpha) = if args.contains(',') {
        let mut parts: Vec<&str> = args.split(',').map(str::trim).collect();
        let alpha = (parts.len() == 4).then(|| parts.pop()).flatten();
        (parts, alpha)
    } else {
        let (channels, alpha) = match args.split_once('/') {
            Some((c, a)) => (c, Some(a.trim())),
            None => (args, None),
        };
        (channels.split_whitespace().collect(), alpha)
    };
    (channels.len() == 3).then_some((channels, alpha))
}

/// A number, or a percentage of `full`.
fn number_or_percent(s: &str, full: f64) -> Option<f64> {
    let s = s.trim();
    let n = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok()? / 100.0 * full,
        None => s.parse::<f64>().ok()?,
    };
    n.is_finite().then_some(n)
}

fn percent(s: &str) -> Option<f64> {
    let s = s.trim();
    let n = s
        .strip_suffix('%')
        .unwrap_or(s)
        .trim()
        .parse::<f64>()
        .ok()?;
    n.is_finite().then_some((n / 100.0).clamp(0.0, 1.0))
}

/// A hue in degrees: a number, `deg` or `turn`.
fn hue(s: &str) -> Option<f64> {
    let s = s.trim();
    let deg = if let Some(t) = s.strip_suffix("turn") {
        t.trim().parse::<f64>().ok()? * 360.0
    } else {
        s.strip_suffix("deg")
            .unwrap_or(s)
            .trim()
            .parse::<f64>()
            .ok()?
    };
    deg.is_finite().then_some(deg.rem_euclid(360.0))
}

fn to_byte(n: f64) -> u8 {
    // Clamped to 0..=255 first, so the cast cannot wrap.
    n.clamp(0.0, 255.0).round() as u8
}

/// CSS Color 4's `hsl()` to sRGB.
fn hsl_to_rgb(hue: f64, s: f64, l: f64) -> Rgb {
    let f = |n: f64| {
        let k = (n + hue / 30.0) % 12.0;
        let a = s * l.min(1.0 - l);
        l - a * (k - 3.0).min(9.0 - k).clamp(-1.0, 1.0)
    };
    Rgb(
        to_byte(f(0.0) * 255.0),
        to_byte(f(8.0) * 255.0),
        to_byte(f(4.0) * 255.0),
    )
}

/// A token's colour in one scheme: the venue's, or the stylesheet's.
#[derive(Clone, Debug, PartialEq)]
pub struct Side {
    pub token: &'static str,
    pub value: String,
    /// Where the venue sets it (`theme.tokens.muted`).
    pub path: String,
    /// Whether the venue set it (else it is the stylesheet's fallback).
    pub venue_set: bool,
}

/// What the audit found for one pair in one scheme.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The ratio, at or above the minimum.
    Passes(f64),
    /// The ratio, below the minimum.
    Fails(f64),
    /// A colour that could not be read, and which side it is.
    Unchecked { side: Side, why: Unreadable },
}

/// One pair of the prompt in one scheme, and its verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct PairCheck {
    pub scheme: Scheme,
    pub pair: Pair,
    pub foreground: Side,
    pub background: Side,
    pub verdict: Verdict,
}

impl PairCheck {
    /// The side to name when the pair fails: the one the venue set (the
    /// foreground when both or neither were).
    pub fn blamed(&self) -> &Side {
        if !self.foreground.venue_set && self.background.venue_set {
            &self.background
        } else {
            &self.foreground
        }
    }

    /// A designer's sentence for a failing pair, or `None` when it passes
    /// or could not be checked.
    pub fn failure(&self) -> Option<String> {
        let Verdict::Fails(ratio) = self.verdict else {
            return None;
        };
        Some(format!(
            "{} ({} scheme): {} on {} is {}:1; WCAG 2.2 AA asks for {}:1 ({} on {})",
            self.pair.drawn,
            self.scheme.as_str(),
            self.foreground.token,
            self.background.token,
            ratio_text(ratio),
            self.pair.minimum,
            self.foreground.value,
            self.background.value,
        ))
    }
}

/// A ratio as a person is shown it: rounded down to two decimals, so a
/// failing 4.499 is never shown as 4.5.
pub fn ratio_shown(ratio: f64) -> f64 {
    (ratio * 100.0).floor() / 100.0
}

/// [`ratio_shown`] as text, always with two decimals.
pub fn ratio_text(ratio: f64) -> String {
    format!("{:.2}", ratio_shown(ratio))
}

/// The colour of `token` in `scheme` under `theme`.
fn side(theme: &Theme, scheme: Scheme, token: &'static str, fallback: &[(&str, &str)]) -> Side {
    let set = match scheme {
        Scheme::Light => &theme.tokens,
        Scheme::Dark => &theme.dark_tokens,
    };
    let venue = set.iter().find(|(name, _)| name == token);
    Side {
        token,
        value: venue.map_or_else(
            || {
                fallback
                    .iter()
                    .find(|(t, _)| *t == token)
                    .map_or_else(String::new, |(_, v)| (*v).to_owned())
            },
            |(_, v)| v.clone(),
        ),
        path: format!("{}.{token}", scheme.config_path()),
        venue_set: venue.is_some(),
    }
}

/// Every pair the prompt draws, in every scheme the theme's preset shows,
/// checked.
pub fn audit(theme: &Theme) -> Vec<PairCheck> {
    let mut checks = Vec::new();
    for &scheme in Scheme::drawn_by(theme.preset) {
        let fallback = defaults(scheme);
        for pair in PAIRS {
            let foreground = side(theme, scheme, pair.foreground, &fallback);
            let background = side(theme, scheme, pair.background, &fallback);
            let verdict = match (
                parse_colour(&foreground.value),
                parse_colour(&background.value),
            ) {
                (Ok(fg), Ok(bg)) => {
                    let ratio = contrast(fg, bg);
                    if ratio >= pair.minimum {
                        Verdict::Passes(ratio)
                    } else {
                        Verdict::Fails(ratio)
                    }
                }
                (Err(why), _) => Verdict::Unchecked {
                    side: foreground.clone(),
                    why,
                },
                (_, Err(why)) => Verdict::Unchecked {
                    side: background.clone(),
                    why,
                },
            };
            checks.push(PairCheck {
                scheme,
                pair: *pair,
                foreground,
                background,
                verdict,
            });
        }
    }
    checks
}

/// The audit as config problems: each failing pair an error at the path
/// of the token to change, each colour that could not be read a warning
/// (once per token).
pub fn issues(checks: &[PairCheck]) -> (Vec<Issue>, Vec<Issue>) {
    let mut errors = Vec::new();
    let mut warnings: Vec<Issue> = Vec::new();
    for check in checks {
        if let Some(message) = check.failure() {
            errors.push(Issue {
                path: check.blamed().path.clone(),
                message,
            });
        } else if let Verdict::Unchecked { side, why } = &check.verdict {
            if !warnings.iter().any(|w| w.path == side.path) {
                warnings.push(Issue {
                    path: side.path.clone(),
                    message: why.message(&side.value),
                });
            }
        }
    }
    (errors, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(preset: ThemePreset, light: &[(&str, &str)], dark: &[(&str, &str)]) -> Theme {
        let own = |l: &[(&str, &str)]| {
            l.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        Theme {
            preset,
            tokens: own(light),
            dark_tokens: own(dark),
        }
    }

    #[test]
    fn colours_are_read_as_css_reads_them() {
        let cases: &[(&str, Result<Rgb, Unreadable>)] = &[
            ("#fff", Ok(Rgb(255, 255, 255))),
            ("#FFF", Ok(Rgb(255, 255, 255))),
            ("#1d4ed8", Ok(Rgb(0x1d, 0x4e, 0xd8))),
            ("#1d4ed8ff", Ok(Rgb(0x1d, 0x4e, 0xd8))),
            ("#1d4ed880", Err(Unreadable::Translucent)),
            ("#abcd", Err(Unreadable::Translucent)),
            ("#12345", Err(Unreadable::NotAColour)),
            ("#ggg", Err(Unreadable::NotAColour)),
            ("rgb(255, 0, 0)", Ok(Rgb(255, 0, 0))),
            ("rgb(255 0 0)", Ok(Rgb(255, 0, 0))),
            ("rgb(100% 0% 50%)", Ok(Rgb(255, 0, 128))),
            ("rgba(0, 0, 0, 1)", Ok(Rgb(0, 0, 0))),
            ("rgba(0, 0, 0, 0.5)", Err(Unreadable::Translucent)),
            ("rgb(0 0 0 / 50%)", Err(Unreadable::Translucent)),
            ("rgb(0 0 0 / 100%)", Ok(Rgb(0, 0, 0))),
            ("hsl(0 100% 50%)", Ok(Rgb(255, 0, 0))),
            ("hsl(120deg, 100%, 25%)", Ok(Rgb(0, 128, 0))),
            ("hsl(0.5turn 100% 50%)", Ok(Rgb(0, 255, 255))),
            ("hsl(0 0% 100%)", Ok(Rgb(255, 255, 255))),
            ("White", Ok(Rgb(255, 255, 255))),
            ("grey", Ok(Rgb(128, 128, 128))),
            ("transparent", Err(Unreadable::Translucent)),
            ("var(--brand)", Err(Unreadable::NotAColour)),
            ("color-mix(in srgb, red, blue)", Err(Unreadable::NotAColour)),
            ("cornflowerblue", Err(Unreadable::NotAColour)),
            ("rgb(1, 2)", Err(Unreadable::NotAColour)),
            ("", Err(Unreadable::NotAColour)),
        ];
        for (value, want) in cases {
            assert_eq!(&parse_colour(value), want, "{value}");
        }
    }

    #[test]
    fn contrast_matches_wcag_examples() {
        let black = Rgb(0, 0, 0);
        let white = Rgb(255, 255, 255);
        assert!((contrast(black, white) - 21.0).abs() < 1e-9);
        assert!((contrast(white, white) - 1.0).abs() < 1e-9);
        // #767676 on white is the palest grey that passes 4.5:1.
        assert!(contrast(Rgb(0x76, 0x76, 0x76), white) >= 4.5);
        assert!(contrast(Rgb(0x77, 0x77, 0x77), white) < 4.5);
        assert_eq!(contrast(Rgb(1, 2, 3), white), contrast(white, Rgb(1, 2, 3)));
        assert_eq!(ratio_text(4.4999), "4.49");
        assert_eq!(ratio_text(21.0), "21.00");
    }

    #[test]
    fn every_colour_token_has_a_default_in_the_stylesheet_for_each_scheme() {
        for scheme in [Scheme::Light, Scheme::Dark] {
            let found = defaults(scheme);
            for token in colour_tokens() {
                let value = found
                    .iter()
                    .find(|(t, _)| *t == token)
                    .unwrap_or_else(|| panic!("{token} has no {scheme:?} default"))
                    .1;
                assert!(parse_colour(value).is_ok(), "{token} = {value}");
            }
        }
        for pair in PAIRS {
            for token in [pair.foreground, pair.background] {
                assert!(colour_tokens().any(|t| t == token), "{token}");
            }
        }
        for token in SHAPE_TOKENS {
            assert!(crate::config::THEME_TOKENS.contains(token), "{token}");
        }
    }

    #[test]
    fn the_built_in_presets_pass_every_pair() {
        for preset in [ThemePreset::Light, ThemePreset::Dark, ThemePreset::Auto] {
            let checks = audit(&theme(preset, &[], &[]));
            assert_eq!(checks.len(), PAIRS.len() * Scheme::drawn_by(preset).len());
            for check in &checks {
                assert!(
                    matches!(check.verdict, Verdict::Passes(_)),
                    "{preset:?}: {check:?}"
                );
            }
        }
    }

    #[test]
    fn a_pale_colour_is_named_with_its_pair_and_path() {
        let checks = audit(&theme(
            ThemePreset::Auto,
            &[("muted", "#aaa"), ("focus-ring", "#ffffff")],
            &[("accent", "#333333")],
        ));
        let (errors, warnings) = issues(&checks);
        assert!(warnings.is_empty());
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"theme.tokens.muted"), "{paths:?}");
        assert!(paths.contains(&"theme.tokens.focus-ring"), "{paths:?}");
        assert!(paths.contains(&"theme.darkTokens.accent"), "{paths:?}");
        // The light accent was left alone: it is never blamed.
        assert!(!paths.contains(&"theme.tokens.accent"), "{paths:?}");
        let muted = errors
            .iter()
            .find(|e| e.path == "theme.tokens.muted")
            .unwrap();
        assert!(muted.message.contains("(light scheme): muted on background is 2.32:1; WCAG 2.2 AA asks for 4.5:1 (#aaa on #ffffff)"), "{}", muted.message);
    }

    #[test]
    fn the_background_is_named_when_only_it_was_set() {
        let checks = audit(&theme(ThemePreset::Light, &[("surface", "#777777")], &[]));
        let (errors, _) = issues(&checks);
        assert!(!errors.is_empty());
        assert!(
            errors.iter().all(|e| e.path == "theme.tokens.surface"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_scheme_the_preset_never_shows_is_not_checked() {
        let checks = audit(&theme(ThemePreset::Light, &[], &[("text", "#121212")]));
        assert!(checks.iter().all(|c| c.scheme == Scheme::Light));
        assert!(issues(&checks).0.is_empty());
    }

    #[test]
    fn a_colour_that_cannot_be_read_is_a_warning_once() {
        let checks = audit(&theme(
            ThemePreset::Light,
            &[("accent", "var(--brand)")],
            &[],
        ));
        let (errors, warnings) = issues(&checks);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].path, "theme.tokens.accent");
        assert!(warnings[0].message.contains("cannot be checked"));
    }
}
