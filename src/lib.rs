//! Consent Prompt: the checkout consent prompt, as a Yew component compiled
//! to WebAssembly.
//!
//! - [`platform`] is the seam for the browser's side effects.
//! - [`state`] is the reducer; [`components`] render it and dispatch.
//! - [`commit`] turns answers into records; [`outbox`] keeps them and gets
//!   them to the backend (the rules are `consent_core::outbox`).
//! - [`ssr`] (feature `ssr`) renders the same components to HTML on a
//!   server; [`mount`] hydrates that HTML when its session matches.
//! - [`controller`] owns the commit path behind the JS handle below;
//!   [`js`] is what crosses the JS boundary (config in, summaries, errors
//!   and state out); [`mount`] puts the prompt in a page and parks it.
//!
//! Every rule (what to ask, what a record says, what a config may hold)
//! lives in `consent-core`.

pub mod commit;
pub mod components;
pub mod controller;
pub mod js;
pub mod mount;
pub mod outbox;
pub mod platform;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod state;
pub mod styles;
pub mod text;
mod trail;

use std::cell::RefCell;
use std::rc::Rc;

// Talc in place of dlmalloc: smaller in the download and faster
// (bench/doc/size-analysis.md has the measurement).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

use wasm_bindgen::prelude::*;
use web_sys::Element;

use consent_core::wire::Embed;

use crate::js::{config_from_js, destroyed, error_detail, MountError};
use crate::mount::Mounted;

type Slot = Rc<RefCell<Option<Mounted>>>;
/// An element and its prompt's handle slot, weakly.
type Live = (Element, std::rc::Weak<RefCell<Option<Mounted>>>);

thread_local! {
    /// The elements that hold a live prompt, each with its handle's slot
    /// (emptied by `destroy()`): a second mount into one is refused.
    static LIVE: RefCell<Vec<Live>> =
        const { RefCell::new(Vec::new()) };
}

/// Whether `host` holds a prompt whose handle has not been destroyed.
fn holds_live_prompt(host: &Element) -> bool {
    LIVE.with(|live| {
        let mut live = live.borrow_mut();
        live.retain(|(_, slot)| slot.upgrade().is_some_and(|s| s.borrow().is_some()));
        live.iter().any(|(e, _)| e == host)
    })
}

/// A value for the page, or the typed error saying it could not be made.
fn out<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    platform::to_js(value).map_err(|e| error_detail("browser", &e.0))
}

/// The handle `mount()` resolves to. Once `destroy()` has run, every other
/// method rejects (or throws) `{code: "destroyed", message, field: null,
/// errors: [], recordIds: []}`; `destroy()` itself may be called again.
#[wasm_bindgen]
pub struct Handle {
    mounted: Slot,
}

impl Handle {
    fn controller(&self) -> Result<Rc<controller::Controller>, JsValue> {
        self.mounted
            .borrow()
            .as_ref()
            .map(|m| m.controller.clone())
            .ok_or_else(destroyed)
    }
}

#[wasm_bindgen]
impl Handle {
    /// Commits the answers. Resolves with `{records, delivered, pending, final}`
    /// once the records are safely kept; rejects with `{code, message, field, errors}`.
    /// A second call while one is in progress gets the same promise.
    pub fn commit(&self) -> js_sys::Promise {
        match self.controller() {
            Ok(c) => c.commit_shared(),
            Err(e) => js_sys::Promise::reject(&e),
        }
    }

    /// What the outbox holds: `[{recordId, status, attempts, lastError,
    /// endpoint, decidedAt, kept}]`, status `pending`, `held` (waiting for
    /// a new token), `failed` (refused by the backend) or `set-aside`
    /// (unreadable in storage; never sent).
    pub fn outbox(&self) -> js_sys::Promise {
        let listing = self.controller().and_then(|_| out(&outbox::listing()));
        wasm_bindgen_futures::future_to_promise(async move { listing })
    }

    /// Sends what is pending or held now. Resolves with
    /// `{delivered, pending, held, failed, message, field, unauthorized}`.
    pub fn retry(&self) -> js_sys::Promise {
        let controller = self.controller();
        wasm_bindgen_futures::future_to_promise(async move {
            let report = controller?.retry().await?;
            out(&report)
        })
    }

    /// Replaces the config (e.g. the basket changed). Answers for partners
    /// still asked are kept. Throws `{code, message, errors}` on a bad config.
    pub fn update(&self, config: JsValue) -> Result<(), JsValue> {
        let controller = self.controller()?;
        let (config, warnings) = config_from_js(config).map_err(|e| e.to_js())?;
        for w in &warnings {
            platform::warn(&format!("config warning: {w}"));
        }
        controller.update(config);
        Ok(())
    }

    /// The records `commit()` would send now, without keeping or sending them.
    pub fn preview(&self) -> js_sys::Promise {
        let controller = self.controller();
        wasm_bindgen_futures::future_to_promise(async move {
            let records = controller?.preview().await?;
            out(&records)
        })
    }

    /// The patron's receipt for the last successful commit, as
    /// `consent-receipt/1` (`{schema, customerId, generatedAt, records}`),
    /// or `null` before one.
    pub fn receipt(&self) -> Result<JsValue, JsValue> {
        Ok(self.controller()?.receipt())
    }

    /// `{locale, complete, phase, questions, skipped}`.
    pub fn state(&self) -> Result<JsValue, JsValue> {
        Ok(self.controller()?.state())
    }

    /// Unmounts the prompt and removes its listeners. Pending records stay in
    /// the outbox and are sent on the next mount. Calling it again does nothing.
    pub fn destroy(&self) {
        if let Some(mut m) = self.mounted.borrow_mut().take() {
            m.destroy();
        }
    }
}

/// Mounts the prompt. `target` is an Element or a CSS selector; `embed` is
/// how the page loaded it (`module`, `script`, `iframe`, `demo`).
///
/// Throws `{code, message, field, errors, warnings}` (see [`MountError`]),
/// and dispatches the same as `consent:error` on the target element when
/// there is one: `invalid-config` (every problem at once), `already-mounted`
/// (the target holds a live prompt: destroy it first), `browser`.
#[wasm_bindgen(js_name = mountPrompt)]
pub fn mount_prompt(
    target: JsValue,
    config: JsValue,
    embed: Option<String>,
) -> Result<Handle, JsValue> {
    let host: Element = match target.as_string() {
        Some(selector) => platform::query(&selector)
            .map_err(|e| MountError::Platform(e.0).to_js())?
            .ok_or_else(|| {
                MountError::Platform(format!("no element matches \"{selector}\"")).to_js()
            })?,
        None => target.dyn_into::<Element>().map_err(|_| {
            MountError::Platform("target must be an Element or a CSS selector".into()).to_js()
        })?,
    };
    let embed = match embed.as_deref() {
        Some("script") => Embed::Script,
        Some("iframe") => Embed::Iframe,
        Some("demo") => Embed::Demo,
        _ => Embed::Module,
    };
    let failed = |e: MountError| {
        let detail = e.to_js();
        if let Err(e) = platform::dispatch(&host, "consent:error", &detail) {
            platform::warn(&format!("consent:error could not be dispatched: {}", e.0));
        }
        detail
    };
    if holds_live_prompt(&host) {
        return Err(failed(MountError::AlreadyMounted));
    }
    let (config, warnings) = config_from_js(config).map_err(failed)?;
    let mounted = mount::mount(host.clone(), config, warnings, embed).map_err(failed)?;
    let slot: Slot = Rc::new(RefCell::new(Some(mounted)));
    LIVE.with(|live| live.borrow_mut().push((host, Rc::downgrade(&slot))));
    Ok(Handle { mounted: slot })
}
