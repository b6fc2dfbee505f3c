//! The prompt's view. `Prompt` owns the session; the components under it get
//! props holding only what they render, and read the validated config and the
//! patron's locale from a [`Shown`] context. They render and dispatch; they
//! hold no rules of their own.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement};
use yew::prelude::*;

use consent_core::config::{Config, ThemePreset};
use consent_core::domain::{Channel, DecisionState, Mode, Partner};
use consent_core::plan::{AskReason, Question};
use consent_core::session::{is_opt_out, offered_channels, Answer, Choice, Problem};

use crate::controller::Controller;
use crate::platform;
use crate::state::{Msg, Phase, Session};
use crate::text::{shown_notice, Texts};
use consent_core::i18n::Key;
use consent_core::outcome::Status;

/// The prompt's first state, and the controller that links it to the page:
/// `None` when it is rendered on a server, where there is no page yet.
#[derive(Properties, Clone)]
pub struct PromptProps {
    pub initial: Rc<Session>,
    pub controller: Option<Rc<Controller>>,
}

impl PartialEq for PromptProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.initial, &other.initial)
            && match (&self.controller, &other.controller) {
                (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

/// The app root: the prompt while mounted, nothing while parked. A new
/// generation gives each mount a fresh `Prompt` (fresh state and hooks).
#[derive(Properties, PartialEq, Clone)]
pub struct RootProps {
    pub active: Option<PromptProps>,
    pub generation: u32,
}

#[component]
pub fn Root(props: &RootProps) -> Html {
    match &props.active {
        Some(p) => html! {
            <Prompt key={props.generation.to_string()} initial={p.initial.clone()} controller={p.controller.clone()} />
        },
        None => Html::default(),
    }
}

/// What many components read, provided once by `Prompt` as a context: the
/// validated config (presentation settings, partners, strings) and the
/// locale asked for. Equal while neither changes, so consumers are not
/// re-rendered for an answer elsewhere.
#[derive(Clone)]
pub struct Shown {
    pub config: Rc<Config>,
    pub locale: String,
}

impl PartialEq for Shown {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.config, &other.config) && self.locale == other.locale
    }
}

impl Shown {
    fn texts(&self) -> Texts<'_> {
        Texts {
            config: &self.config,
            locale: &self.locale,
        }
    }
}

fn qid(index: usize) -> String {
    format!("cp-q{index}")
}

/// Box-office keys: what a key press asks for, if anything.
enum Shortcut {
    Choose(Choice),
    Heard,
    Move(isize),
    Save,
}

fn shortcut(e: &KeyboardEvent) -> Option<Shortcut> {
    if e.ctrl_key() || e.alt_key() || e.meta_key() {
        return None;
    }
    match e.key().as_str() {
        "y" | "Y" => Some(Shortcut::Choose(Choice::Yes)),
        "n" | "N" => Some(Shortcut::Choose(Choice::No)),
        "h" | "H" => Some(Shortcut::Heard),
        "j" | "J" => Some(Shortcut::Move(1)),
        "k" | "K" => Some(Shortcut::Move(-1)),
        "Enter" => Some(Shortcut::Save),
        _ => None,
    }
}

/// The question whose fieldset holds the event's target, by index.
fn question_of(e: &KeyboardEvent) -> Option<usize> {
    let target: Element = e.target()?.dyn_into().ok()?;
    let fieldset = target.closest("fieldset.q").ok()??;
    fieldset.id().strip_prefix("cp-q")?.parse().ok()
}

#[component]
pub fn Prompt(props: &PromptProps) -> Html {
    // The controller holds the state; this view shows what it sends.
    let session = use_state({
        let initial = props.initial.clone();
        move || initial
    });
    if let Some(c) = &props.controller {
        c.subscribe(session.setter());
    }
    let send: Callback<Msg> = match &props.controller {
        Some(c) => {
            let c = c.clone();
            Callback::from(move |msg| c.send(msg))
        }
        None => Callback::noop(),
    };
    let root = use_node_ref();
    let summary = use_node_ref();

    // Focus moves to the error summary after each failed commit.
    {
        let summary = summary.clone();
        use_effect_with(session.error_epoch, move |epoch| {
            if *epoch > 0 {
                if let Some(el) = summary.cast::<web_sys::HtmlElement>() {
                    if el.focus().is_err() {
                        platform::warn("could not move focus to the error summary");
                    }
                }
            }
        });
    }
    // Once taken over: the answers given before the wasm arrived are
    // shown, and an early Save commits, once.
    {
        let controller = props.controller.clone();
        use_effect_with((), move |_| {
            if let Some(c) = controller {
                c.hydrated();
            }
        });
    }
    // After "Change my answers", focus goes to the first question. (After
    // a save it stays on the button, which becomes "Change my answers".)
    {
        let root = root.clone();
        let done = matches!(session.phase, Phase::Done(_));
        let reopened = session.saved.is_some() && !done;
        use_effect_with(done, move |_| {
            if let (true, Some(el)) = (reopened, root.cast::<Element>()) {
                if platform::focus_first(&el, "fieldset.q input").is_err() {
                    platform::warn("could not move focus to the first question");
                }
            }
        });
    }

    let s: &Session = &session;
    let locked = s.phase.is_final();
    let c = &s.config;
    let texts = Texts {
        config: c,
        locale: &s.locale,
    };
    let lang = shown_lang(s);
    let level = c.heading_level.clamp(1, 6);
    let heading = format!("h{level}");
    let sub_heading = format!("h{}", (level + 1).min(6));
    let assisted = c.policy.channel.is_assisted();
    let account = matches!(c.policy.mode, Mode::Account);

    let theme = match c.theme.preset {
        ThemePreset::Light => "light",
        ThemePreset::Dark => "dark",
        ThemePreset::Auto => "auto",
    };
    let classes = classes!("cp", theme, assisted.then_some("compact"));

    let on_submit = {
        let controller = props.controller.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(c) = &controller {
                c.commit_from_ui();
            }
        })
    };
    let focus_question = {
        let root = root.clone();
        Callback::from(move |(e, id): (Option<MouseEvent>, String)| {
            if let Some(e) = e {
                e.prevent_default();
            }
            if let Some(el) = root.cast::<Element>() {
                if platform::focus_first(&el, &format!("#{id} input")).is_err() {
                    platform::warn("could not move focus to the question");
                }
            }
        })
    };
    // Box office: Y / N answer, H confirms the wording was heard, J / K move
    // between companies. Only in assisted mode, so patrons' typing is never taken.
    let on_keydown = {
        let controller = props.controller.clone();
        let dispatch = send.clone();
        let root = root.clone();
        let questions: Vec<String> = s.plan.questions.iter().map(|q| q.key.clone()).collect();
        let heard: Vec<bool> = s
            .plan
            .questions
            .iter()
            .map(|q| s.answers.get(&q.key).is_some_and(|a| a.heard))
            .collect();
        Callback::from(move |e: KeyboardEvent| {
            let Some(action) = shortcut(&e) else { return };
            if let Shortcut::Save = action {
                // Enter on a radio or checkbox saves; on a button or link it does what it always does.
                let on_input = e
                    .target()
                    .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                    .is_some();
                if on_input {
                    e.prevent_default();
                    if let Some(c) = &controller {
                        c.commit_from_ui();
                    }
                }
                return;
            }
            let index = question_of(&e).unwrap_or(0);
            let Some(key) = questions.get(index).cloned() else {
                return;
            };
            e.prevent_default();
            let Some(el) = root.cast::<Element>() else {
                return;
            };
            let focus = |selector: String| {
                if platform::focus_first(&el, &selector).is_err() {
                    platform::warn("could not move focus");
                }
            };
            match action {
                Shortcut::Choose(choice) => {
                    dispatch.emit(Msg::Choose {
                        key,
                        choice,
                        at: platform::now(),
                    });
                    let which = if choice == Choice::Yes { "yes" } else { "no" };
                    focus(format!("#{}-{which}", qid(index)));
                }
                Shortcut::Heard => dispatch.emit(Msg::Heard {
                    key,
                    heard: !heard.get(index).copied().unwrap_or(false),
                }),
                Shortcut::Move(step) => {
                    let next =
                        (index as isize + step).clamp(0, questions.len() as isize - 1) as usize;
                    focus(format!("#{} input", qid(next)));
                }
                Shortcut::Save => {}
            }
        })
    };

    if s.plan.questions.is_empty() {
        let key = if account {
            Key::AccountEmpty
        } else {
            Key::NothingToAsk
        };
        return html! {
            <section class={classes} lang={lang} part="root" ref={root}>
                <p class="muted" part="nothing-to-ask">{ texts.get(key) }</p>
            </section>
        };
    }

    let error_summary = (!s.errors.is_empty()).then(|| {
        html! {
            <div class="summary" role="alert" tabindex="-1" part="error-summary" ref={summary.clone()} aria-labelledby="cp-error-title">
                <@{sub_heading.clone()} id="cp-error-title">{ texts.get(Key::ErrorTitle) }</@>
                <ul>
                    { for s.errors.iter().filter_map(|e| {
                        let index = s.plan.questions.iter().position(|q| q.key == e.question)?;
                        let q = &s.plan.questions[index];
                        let id = qid(index);
                        let onclick = {
                            let focus = focus_question.clone();
                            let id = id.clone();
                            Callback::from(move |ev: MouseEvent| focus.emit((Some(ev), id.clone())))
                        };
                        Some(html! {
                            <li><a href={format!("#{id}")} {onclick}>{ problem_text(&texts, c, q, e.problem) }</a></li>
                        })
                    }) }
                </ul>
            </div>
        }
    });

    let status = match &s.phase {
        Phase::Asking => String::new(),
        Phase::Saving => texts.get(Key::Saving),
        Phase::Done(Status::Saved { chosen: true }) => texts.get(Key::Saved),
        Phase::Done(Status::Saved { chosen: false }) => texts.get(Key::SavedNone),
        Phase::Done(Status::Kept) => texts.get(Key::Pending),
        Phase::Done(Status::Failed { .. }) | Phase::Failed(_) => texts.get(Key::Failed),
    };
    let status_class = match &s.phase {
        Phase::Done(Status::Saved { .. }) => "status done",
        Phase::Done(Status::Kept) => "status kept",
        Phase::Done(Status::Failed { .. }) | Phase::Failed(_) => "status failed",
        Phase::Asking | Phase::Saving => "status",
    };
    // Box office and phone: the operator reads the screen, so the heading and
    // introduction speak to them; the notices are still read out verbatim.
    let (title, intro) = if account {
        (Key::AccountTitle, Key::AccountIntro)
    } else if assisted {
        (Key::OperatorTitle, Key::OperatorIntro)
    } else {
        (Key::Title, Key::Intro)
    };

    let shown = Shown {
        config: s.config.clone(),
        locale: s.locale.clone(),
    };

    html! {
        <ContextProvider<Shown> context={shown}>
        <section class={classes} lang={lang} part="root" ref={root} aria-labelledby="cp-title" onkeydown={assisted.then_some(on_keydown)}>
            <@{heading} id="cp-title" part="title">{ texts.get(title) }</@>
            <p part="intro">{ texts.get(intro) }</p>
            if assisted {
                <p class="keys" part="keys">{ texts.get(Key::OperatorKeys) }</p>
            }
            if c.show_gpc_note && s.gpc == Some(true) {
                <p class="muted" part="gpc-note">{ texts.get(Key::Gpc) }</p>
            }
            { error_summary.unwrap_or_default() }
            <form novalidate=true onsubmit={on_submit}>
                { for s.plan.questions.iter().enumerate().map(|(i, q)| html! {
                    <QuestionView key={q.key.clone()} index={i} question={Rc::new(q.clone())}
                        answer={s.answers.get(&q.key).cloned().unwrap_or_default()}
                        problem={s.error_for(&q.key)} locked={locked} dispatch={send.clone()} />
                }) }
                if !account {
                    <p class="muted" part="service-note">{ texts.get(Key::Service) }</p>
                }
                // The preference centre is where answers are changed: its
                // introduction says so, and "in your account" would not.
                if !account {
                    <p class="muted" part="change-note">{ texts.get(Key::ChangeLater) }</p>
                }
                if matches!(s.phase, Phase::Done(_)) {
                    <button key="change" type="button" part="change" onclick={{
                        let controller = props.controller.clone();
                        Callback::from(move |_: MouseEvent| {
                            if let Some(c) = &controller {
                                c.reopen();
                            }
                        })
                    }}>{ texts.get(Key::Change) }</button>
                } else if c.submit_button {
                    <button key="submit" type="submit" part="submit" disabled={s.phase == Phase::Saving}>{ texts.get(Key::Save) }</button>
                }
            </form>
            <p class={status_class} role="status" aria-live="polite" part="status" data-saving={texts.get(Key::Saving)}>{ status }</p>
            <div class="receipt" part="receipt" aria-live="polite">
                if let Some(r) = s.final_save().and_then(|saved| saved.links.as_ref()) {
                    <p id="cp-receipt" part="receipt-title">{ texts.get(Key::ReceiptOffer) }</p>
                    <ul aria-labelledby="cp-receipt">
                        <li><a part="receipt-json" href={r.json.to_string()} download={r.file_name.clone()}>{ texts.get(Key::ReceiptJson) }</a></li>
                        <li><a part="receipt-print" href={r.page.to_string()} target="_blank" rel="noopener">{ texts.get(Key::ReceiptPrint) }<span class="muted">{ " " }{ texts.get(Key::NewTab) }</span></a></li>
                    </ul>
                }
            </div>
        </section>
        </ContextProvider<Shown>>
    }
}

/// The language of the prompt's root: the locale whose notice text is shown
/// for the first question, else the requested one.
fn shown_lang(s: &Session) -> String {
    s.plan
        .questions
        .first()
        .map(|q| shown_notice(&s.config, &s.locale, q).language)
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| s.locale.clone())
}

fn partner_names<'a>(c: &'a Config, q: &Question) -> Vec<&'a str> {
    q.asks
        .iter()
        .filter_map(|a| c.partners.get(a.partner_index))
        .map(|p| p.name.as_str())
        .collect()
}

fn problem_text(texts: &Texts<'_>, c: &Config, q: &Question, p: Problem) -> String {
    let names = texts.names(&partner_names(c, q));
    let key = match p {
        Problem::Unanswered => Key::ErrorRequired,
        Problem::NoChannel => Key::ErrorChannels,
        Problem::NotHeard => Key::ErrorOperator,
    };
    texts.fill(key, &[("partner", &names)])
}

/// One question: its place in the plan, the question, its answer and its
/// problem, if any. Config and locale come from the [`Shown`] context.
#[derive(Properties, PartialEq, Clone)]
pub struct QuestionProps {
    pub index: usize,
    pub question: Rc<Question>,
    pub answer: Answer,
    pub problem: Option<Problem>,
    /// The answers are shown as saved: not to be edited until reopened.
    pub locked: bool,
    pub dispatch: Callback<Msg>,
}

#[component]
pub fn QuestionView(props: &QuestionProps) -> Html {
    // Always set by `Prompt`; outside it there is nothing to render.
    let Some(shown) = use_context::<Shown>() else {
        return Html::default();
    };
    let c = &*shown.config;
    let q = &*props.question;
    let texts = shown.texts();
    let id = qid(props.index);
    let answer = &props.answer;
    let problem = props.problem;
    let names = partner_names(c, q);
    let names_text = texts.names(&names);
    let notice = shown_notice(c, &shown.locale, q);
    let general = q.general;
    let account = matches!(c.policy.mode, Mode::Account);
    let assisted = c.policy.channel.is_assisted();
    let offered: Vec<Channel> = offered_channels(q, &c.partners, &c.policy).to_vec();
    let partner = q.asks.first().and_then(|a| c.partners.get(a.partner_index));
    // The venue's own soft opt-in: one box to opt out, not a yes/no.
    let opt_out = is_opt_out(q, &c.partners);

    let events: Vec<&str> = q
        .lines()
        .iter()
        .filter_map(|i| c.basket.get(*i as usize))
        .map(|l| l.title.as_str())
        .collect();
    let because = (!events.is_empty())
        .then(|| texts.fill(Key::Because, &[("events", &texts.names(&events))]));

    let reask = q.asks.iter().find_map(|a| match a.reason {
        AskReason::NoticeChanged { .. } => Some(Key::WordingChanged),
        AskReason::Expired { .. } => Some(Key::Lapsed),
        AskReason::Imported => Some(Key::ReaskImported),
        _ => None,
    });
    let what_changed = match reask {
        Some(Key::WordingChanged) => {
            let text = match (&c.policy.mode, partner) {
                (Mode::General { notice }, _) if general => Some(&notice.what_changed),
                (_, Some(p)) => Some(&p.notice.what_changed),
                _ => None,
            };
            text.and_then(|t| texts.venue(t, "whatChanged"))
                .map(|(_, t)| t)
        }
        _ => None,
    };

    // The preference centre: what the patron said before, and the words they said it to.
    let current = account.then(|| {
        let previous = q.asks.first().and_then(|a| a.previous.as_ref());
        let line = match previous {
            Some(p) => {
                let key = match p.state {
                    DecisionState::Given => Key::AccountGiven,
                    DecisionState::Refused => Key::AccountRefused,
                    DecisionState::Withdrawn => Key::AccountWithdrawn,
                    DecisionState::Deferred => Key::AccountNever,
                };
                let date = platform::format_date(p.decided_at, &texts.locale_of(key));
                texts.fill(key, &[("date", &date)])
            }
            None => texts.get(Key::AccountNever),
        };
        let agreed = previous.and_then(|p| p.notice_text.clone());
        html! {
            <>
                <p part="current">{ line }</p>
                if let Some((lang, text)) = agreed {
                    <details part="agreed">
                        <summary>{ texts.get(Key::AccountShow) }</summary>
                        <blockquote lang={lang}>{ text }</blockquote>
                    </details>
                }
            </>
        }
    });

    let choose = |choice: Choice| {
        let dispatch = props.dispatch.clone();
        let key = q.key.clone();
        Callback::from(move |_: Event| {
            dispatch.emit(Msg::Choose {
                key: key.clone(),
                choice,
                at: platform::now(),
            })
        })
    };
    let yes_label = if general {
        texts.get(Key::GeneralYes)
    } else {
        texts.fill(Key::Yes, &[("partner", &names_text)])
    };
    let error_id = format!("{id}-error");
    let notice_id = format!("{id}-notice");
    let describedby = if problem.is_some() {
        format!("{notice_id} {error_id}")
    } else {
        notice_id.clone()
    };
    let legend = if general {
        names_text.clone()
    } else {
        names.first().copied().unwrap_or_default().to_owned()
    };

    html! {
        <fieldset id={id.clone()} class={classes!("q", problem.is_some().then_some("invalid"))} part="question" aria-describedby={describedby} disabled={props.locked}>
            <legend part="legend">{ legend }</legend>
            { current.unwrap_or_default() }
            if let Some(key) = reask {
                <p class="changed" part="reask-note">
                    { texts.get(key) }
                    if let Some(w) = what_changed {
                        { " " }<strong>{ texts.get(Key::WhatChanged) }</strong>{ " " }{ w }
                    }
                </p>
            }
            if assisted {
                <p class="muted">{ texts.get(Key::OperatorScript) }</p>
            }
            <p id={notice_id} class={classes!("notice", assisted.then_some("script"))} lang={notice.language.clone()} part="notice">{ notice.text.clone() }</p>
            if let Some(because) = because {
                <p class="muted" part="because">{ because }</p>
            }
            if opt_out {
                <p class="muted" part="soft-opt-in">{ texts.fill(Key::OwnSoftOptIn, &[("venue", &c.venue.name)]) }</p>
            }
            if general {
                <ul class="partners">
                    { for q.asks.iter().filter_map(|a| c.partners.get(a.partner_index)).map(|p| html! {
                        <li>{ p.name.clone() }{ " — " }<PrivacyLink partner={Rc::new(p.clone())} /></li>
                    }) }
                </ul>
            } else if let Some(p) = partner {
                <p class="muted" part="privacy">
                    if let Some((lang, summary)) = texts.venue(&p.privacy_summary, "privacySummary") {
                        <span lang={lang}>{ summary }</span>{ " " }
                    }
                    <PrivacyLink partner={Rc::new(p.clone())} />
                </p>
            }
            if problem.is_some() {
                <p class="error" id={error_id} part="error">
                    <span class="vh">{ texts.get(Key::ErrorTitle) }{ ": " }</span>
                    { problem.map(|p| problem_text(&texts, c, q, p)).unwrap_or_default() }
                </p>
            }
            if opt_out {
                <div class="choice">
                    <input type="checkbox" id={format!("{id}-opt-out")} checked={answer.choice == Some(Choice::No)} part="opt-out"
                        onchange={{
                            let dispatch = props.dispatch.clone();
                            let key = q.key.clone();
                            Callback::from(move |e: Event| {
                                let out = e.target_unchecked_into::<HtmlInputElement>().checked();
                                let choice = if out { Choice::No } else { Choice::Yes };
                                dispatch.emit(Msg::Choose { key: key.clone(), choice, at: platform::now() });
                            })
                        }} />
                    <label for={format!("{id}-opt-out")}>{ texts.fill(Key::OwnOptOut, &[("venue", &c.venue.name)]) }</label>
                </div>
            } else {
            <div class="choices">
                <div class="choice">
                    <input type="radio" id={format!("{id}-yes")} name={id.clone()} value="yes"
                        checked={answer.choice == Some(Choice::Yes)} onchange={choose(Choice::Yes)} part="yes" />
                    <label for={format!("{id}-yes")}>{ yes_label }</label>
                </div>
                <div class="choice">
                    <input type="radio" id={format!("{id}-no")} name={id.clone()} value="no"
                        checked={answer.choice == Some(Choice::No)} onchange={choose(Choice::No)} part="no" />
                    <label for={format!("{id}-no")}>{ texts.get(Key::No) }</label>
                </div>
            </div>
            if answer.choice == Some(Choice::Yes) && offered.len() > 1 {
                <fieldset class="channels" part="channels">
                    <legend>{ texts.fill(Key::ChannelsLegend, &[("partner", &names_text)]) }</legend>
                    <div class="choices">
                        { for offered.iter().map(|ch| {
                            let ch = *ch;
                            let dispatch = props.dispatch.clone();
                            let key = q.key.clone();
                            let onchange = Callback::from(move |e: Event| {
                                let on = e.target_unchecked_into::<HtmlInputElement>().checked();
                                dispatch.emit(Msg::ToggleChannel { key: key.clone(), channel: ch, on, at: platform::now() });
                            });
                            let cid = format!("{id}-{}", ch.as_str());
                            html! {
                                <div class="choice">
                                    <input type="checkbox" id={cid.clone()} value={ch.as_str()} checked={answer.channels.contains(&ch)} {onchange} />
                                    <label for={cid}>{ texts.get(Key::channel(ch)) }</label>
                                </div>
                            }
                        }) }
                    </div>
                </fieldset>
            }
            }
            if assisted {
                <div class="choice">
                    <input type="checkbox" id={format!("{id}-heard")} checked={answer.heard} part="heard"
                        onchange={{
                            let dispatch = props.dispatch.clone();
                            let key = q.key.clone();
                            Callback::from(move |e: Event| {
                                let heard = e.target_unchecked_into::<HtmlInputElement>().checked();
                                dispatch.emit(Msg::Heard { key: key.clone(), heard });
                            })
                        }} />
                    <label for={format!("{id}-heard")}>{ texts.get(Key::OperatorConfirm) }</label>
                </div>
            }
        </fieldset>
    }
}

/// A partner's privacy link; its words come from the [`Shown`] context.
#[derive(Properties, PartialEq, Clone)]
pub struct PrivacyLinkProps {
    pub partner: Rc<Partner>,
}

#[component]
pub fn PrivacyLink(props: &PrivacyLinkProps) -> Html {
    let Some(shown) = use_context::<Shown>() else {
        return Html::default();
    };
    let texts = shown.texts();
    let p = &props.partner;
    html! {
        <a href={p.privacy_url.clone()} target="_blank" rel="noopener noreferrer" part="privacy-link">
            { texts.fill(Key::Privacy, &[("partner", &p.name)]) }
            { " " }{ texts.get(Key::NewTab) }
        </a>
    }
}
