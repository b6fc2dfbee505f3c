//! Mounting the prompt into a page element, and parking its Yew app when
//! it is destroyed.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use web_sys::Element;
use yew::AppHandle;

use consent_core::config::{Config, Issue};
use consent_core::wire::Embed;

use crate::components::{PromptProps, Root, RootProps};
use crate::controller::{pick_locale, plan_here, Controller};
use crate::js::{issues, state_of, IssueOut, MountError, StateOut};
use crate::outbox::{self, Delivery};
use crate::platform;
use crate::state::{Msg, Session};
use crate::styles;
use consent_core::outcome::held_message;
use consent_core::session::Choice;
use consent_core::Timestamp;

/// A prompt mounted in the page.
pub struct Mounted {
    app: Option<AppHandle<Root>>,
    container: Element,
    pub controller: Rc<Controller>,
}

impl Mounted {
    /// Unmounts the prompt. The Yew app behind it is parked for the next
    /// mount rather than destroyed: Yew keeps its delegated event listeners
    /// for an app's lifetime, so a single-page app that mounted a fresh app
    /// on every visit to its checkout would gain listeners each time.
    pub fn destroy(&mut self) {
        if let Some(mut app) = self.app.take() {
            app.update(RootProps {
                active: None,
                generation: next_generation(),
            });
            self.container.remove();
            IDLE.with(|idle| idle.borrow_mut().push((app, self.container.clone())));
        }
        self.controller.detach();
    }
}

thread_local! {
    /// Parked apps and their containers, ready for the next mount.
    static IDLE: RefCell<Vec<(AppHandle<Root>, Element)>> = const { RefCell::new(Vec::new()) };
    static GENERATION: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn next_generation() -> u32 {
    GENERATION.with(|g| {
        g.set(g.get().wrapping_add(1));
        g.get()
    })
}

/// Mounts the prompt into `host`'s shadow root.
pub fn mount(
    host: Element,
    config: Config,
    warnings: Vec<Issue>,
    embed: Embed,
) -> Result<Mounted, MountError> {
    for w in &warnings {
        platform::warn(&format!("config warning: {w}"));
    }
    let shadow = platform::shadow_root(&host).map_err(|e| MountError::Platform(e.0))?;
    platform::adopt_styles(
        &shadow,
        &[styles::BASE_CSS, &styles::token_css(&config.theme)],
    )
    .map_err(|e| MountError::Platform(e.0))?;

    let locale = pick_locale(&config);
    let now = platform::now();
    let config = Rc::new(config);
    let (the_plan, answers) = plan_here(&config, now);
    let mut session = Session::new(
        config.clone(),
        Rc::new(the_plan),
        answers,
        locale,
        now,
        platform::global_privacy_control(),
    );
    let parked = IDLE.with(|idle| idle.borrow_mut().pop());
    // A prompt the server rendered for this very session is taken over
    // (hydrated) as it stands; anything else is replaced.
    let server = platform::server_rendered(&shadow)
        .filter(|(_, key)| parked.is_none() && *key == session.render_key());
    let early = match &server {
        Some((container, _)) => {
            // The question has been on screen since it was put in the page.
            if let Some(start) = platform::shown_since(container).filter(|t| *t <= now) {
                session.presented_at = start;
            }
            early_answers(&session, container, now)
        }
        None => Vec::new(),
    };
    let container = match (&server, &parked) {
        (Some((c, _)), _) => c.clone(),
        (None, Some((_, c))) => c.clone(),
        (None, None) => platform::create_element("div").map_err(|e| MountError::Platform(e.0))?,
    };
    if server.is_some() {
        // The rendered HTML's stylesheet link has done its work: the same
        // rules are adopted above, so the live prompt has one set of styles
        // in every mode.
        platform::remove_linked_styles(&shadow);
    } else {
        while let Some(child) = shadow.first_child() {
            let _ = shadow.remove_child(&child);
        }
        shadow
            .append_child(&container)
            .map_err(|_| MountError::Platform("could not add to the shadow root".into()))?;
    }

    // The view hydrates what the server rendered; the prompt's state
    // starts with what the patron did to it before the wasm arrived, so
    // the handle `mount` returns, and `consent:ready`, already hold those
    // answers. The view catches up once it has taken the DOM over
    // (`Controller::hydrated`).
    let shown = Rc::new(session);
    let session = early
        .into_iter()
        .fold(shown.clone(), |s, msg| Rc::new(s.apply(msg)));
    let answered_early = session.answers != shown.answers;
    let controller = Rc::new(Controller::new(
        host,
        embed,
        session.clone(),
        server.as_ref().map(|(c, _)| c.clone()),
    ));
    let props = RootProps {
        active: Some(PromptProps {
            initial: shown,
            controller: Some(controller.clone()),
        }),
        generation: next_generation(),
    };
    let app = match parked {
        Some((mut app, _)) => {
            app.update(props);
            app
        }
        None if server.is_some() => {
            yew::Renderer::<Root>::with_root_and_props(container.clone(), props).hydrate()
        }
        None => yew::Renderer::<Root>::with_root_and_props(container.clone(), props).render(),
    };

    #[derive(Serialize)]
    struct Ready<'a> {
        state: StateOut,
        warnings: Vec<IssueOut<'a>>,
    }
    controller.emit(
        "consent:ready",
        &Ready {
            state: state_of(&session),
            warnings: issues(&warnings),
        },
    );
    if answered_early {
        // As after any answer: pages that follow only the changes learn of them.
        controller.emit("consent:change", &state_of(&session));
    }
    flush_outbox(&config, &controller);
    Ok(Mounted {
        app: Some(app),
        container,
        controller,
    })
}

/// What the patron set in the server-rendered HTML before the wasm
/// arrived, as the actions that would have recorded it, dated when the
/// entry script saw the input change (else now, and never before the
/// question was shown).
fn early_answers(session: &Session, container: &Element, now: Timestamp) -> Vec<Msg> {
    let mut actions = Vec::new();
    for input in platform::early_inputs(container) {
        let Some((index, what)) = input
            .id
            .strip_prefix("cp-q")
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(i, what)| Some((i.parse::<usize>().ok()?, what)))
        else {
            continue;
        };
        let Some(question) = session.plan.questions.get(index) else {
            continue;
        };
        let key = question.key.clone();
        let at = input
            .at
            .filter(|t| *t >= session.presented_at && *t <= now)
            .unwrap_or(now);
        match what {
            "yes" => actions.push(Msg::Choose {
                key,
                choice: Choice::Yes,
                at,
            }),
            // The venue's own soft opt-in, ticked: opted out.
            "no" | "opt-out" => actions.push(Msg::Choose {
                key,
                choice: Choice::No,
                at,
            }),
            "heard" => actions.push(Msg::Heard { key, heard: true }),
            _ => {}
        }
    }
    actions
}

/// Sends whatever an earlier visit left in the outbox for this endpoint,
/// held records included: this mount brings its own token.
fn flush_outbox(config: &Config, controller: &Rc<Controller>) {
    outbox::set_endpoint(outbox::Endpoint::of(config));
    for (id, why) in outbox::refresh() {
        platform::error(&format!(
            "outbox entry {id} was set aside and is not sent: {why}"
        ));
    }
    outbox::release_held(&config.endpoint);
    let url = config.endpoint.clone();
    let this = controller.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let mut run = Delivery::start(&url, None);
        run.go(true).await;
        let report = run.report();
        if !report.run.failed.is_empty() {
            platform::error(&format!(
                "the backend refused {} earlier record(s): {}",
                report.run.failed.len(),
                report.run.message.clone().unwrap_or_default()
            ));
        }
        if let Some(why) = &report.run.unauthorized {
            this.fail(
                "unauthorized",
                held_message(why),
                None,
                report.run.held.clone(),
            );
        }
    });
}
