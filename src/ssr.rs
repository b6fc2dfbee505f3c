//! The prompt rendered to HTML on a server, for the browser to take over.
//!
//! The same components the browser runs render here from a session alone
//! (no controller, no page), into a declarative shadow root:
//!
//! ```html
//! <template shadowrootmode="open">
//!   <link rel="stylesheet" href="…/consent-prompt.css">
//!   <div data-cp-render="…fingerprint…">…the prompt…</div>
//! </template>
//! ```
//!
//! The patron sees the first question as soon as the HTML arrives. When the
//! wasm mounts with a config that gives the same session (the fingerprint,
//! `Session::render_key`), it hydrates this DOM instead of rendering anew;
//! otherwise it replaces it. The stylesheet is linked, never inline, so a
//! strict `style-src 'self'` policy holds.

use std::rc::Rc;

use consent_core::config::Config;
use consent_core::locale::requested_locale;
use consent_core::Timestamp;
use yew::ServerRenderer;

use crate::components::{PromptProps, Root, RootProps};
use crate::controller::make_plan;
use crate::platform::RENDER_KEY_ATTR;
use crate::state::Session;

/// What the server knows of the patron's browser, and where the
/// stylesheet is.
#[derive(Clone, Debug)]
pub struct RenderInput {
    pub config: Config,
    /// The patron's languages, most wanted first (from `Accept-Language`);
    /// a locale in the config wins over them, as in the browser.
    pub languages: Vec<String>,
    /// `Sec-GPC: 1` from the patron's request, if known.
    pub gpc: Option<bool>,
    pub now: Timestamp,
    /// The URL of `consent-prompt.css`, linked from the shadow root.
    pub stylesheet: String,
    /// Its `sha384-…` integrity, if known: the link carries it (with
    /// `crossorigin="anonymous"`), so the browser refuses a changed file.
    pub stylesheet_integrity: Option<String>,
}

/// A server-rendered prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The `<template shadowrootmode="open">…</template>` to place as the
    /// first child of the element the prompt will mount on.
    pub fragment: String,
    /// The locale it was rendered in.
    pub locale: String,
    /// The session's fingerprint (`data-cp-render`).
    pub key: String,
    /// How many questions it asks.
    pub questions: usize,
    /// The stylesheet URL the fragment links.
    pub stylesheet: String,
}

/// The session a browser would start for this config, languages and GPC
/// signal, at `now`.
pub fn session_for(input: &RenderInput) -> Session {
    let config = Rc::new(input.config.clone());
    let locale = requested_locale(
        std::iter::once(config.locale.as_deref())
            .chain(input.languages.iter().map(|l| Some(l.as_str()))),
    );
    let (plan, answers) = make_plan(&config, &[], input.now);
    Session::new(config, Rc::new(plan), answers, locale, input.now, input.gpc)
}

/// Renders the prompt for a config.
pub async fn render(input: RenderInput) -> Rendered {
    let (key, locale, questions) = {
        let session = session_for(&input);
        let key = session.render_key();
        (key, session.locale.clone(), session.plan.questions.len())
    };
    let stylesheet = input.stylesheet.clone();
    let linked = consent_core::html::escape(&stylesheet);
    let checked = match &input.stylesheet_integrity {
        Some(i) => format!(
            " integrity=\"{}\" crossorigin=\"anonymous\"",
            consent_core::html::escape(i)
        ),
        None => String::new(),
    };
    // Yew renders on its own runtime; the props are made there, from what
    // can be sent to it. So the session is made twice: above for its
    // fingerprint, and there, since its `Rc`s cannot be sent across.
    let body = ServerRenderer::<Root>::with_props(move || RootProps {
        active: Some(PromptProps {
            initial: Rc::new(session_for(&input)),
            controller: None,
        }),
        generation: 0,
    })
    .render()
    .await;
    // Without JavaScript a Save cannot be recorded with its proof: it
    // lands on a page beside the stylesheet that says so plainly
    // (`no-script.html`), never back on the checkout as if it had worked.
    // The browser's prompt keeps the attribute and never follows it.
    let no_script = match stylesheet.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/no-script.html"),
        None => "no-script.html".to_owned(),
    };
    let body = body.replacen(
        "<form ",
        &format!(
            "<form action=\"{}\" ",
            consent_core::html::escape(&no_script)
        ),
        1,
    );
    let fragment = format!(
        "<template shadowrootmode=\"open\"><link rel=\"stylesheet\" href=\"{linked}\"{checked}><div {RENDER_KEY_ATTR}=\"{key}\">{body}</div></template>"
    );
    Rendered {
        fragment,
        locale,
        key,
        questions,
        stylesheet,
    }
}
