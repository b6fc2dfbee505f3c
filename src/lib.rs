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

use crate::js::{config_from_js, MountError};
use crate::mount::Mounted;

/// The handle `mount()` resolves to.
#[wasm_bindgen]
pub struct Handle {
    mounted: Rc<RefCell<Option<Mounted>>>,
}

#[wasm_bindgen]
impl Handle {
    /// Commits the answers. Resolves with `{records, delivered, pending, final}`
    /// once the records are safely kept; rejects with `{code, message, field, errors}`.
    /// A second call while one is in progress gets the same promise.
    pub fn commit(&self) -> js_sys::Promise {
        match self.mounted.borrow().as_ref() {
            Some(m) => m.controller.commit_shared(),
            None => {
                js_sys::Promise::reject(&JsValue::from_str("the consent prompt has been destroyed"))
            }
        }
    }

    /// What the outbox holds: `[{recordId, status, attempts, lastError,
    /// endpoint, decidedAt, kept}]`, status `pending`, `held` (waiting for
    /// a new token), `failed` (refused by the backend) or `set-aside`
    /// (unreadable in storage; never sent).
    pub fn outbox(&self) -> js_sys::Promise {
        let listing = platform::to_js(&outbox::listing());
        wasm_bindgen_futures::future_to_promise(async move {
            listing.map_err(|e| JsValue::from_str(&e.0))
        })
    }

    /// Sends what is pending or held now. Resolves with
    /// `{delivered, pending, held, failed, message, field, unauthorized}`.
    pub fn retry(&self) -> js_sys::Promise {
        let controller = self.mounted.borrow().as_ref().map(|m| m.controller.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let Some(c) = controller else {
                return Err(JsValue::from_str("the consent prompt has been destroyed"));
            };
            let report = c.retry().await?;
            platform::to_js(&report).map_err(|e| JsValue::from_str(&e.0))
        })
    }

    /// Replaces the config (e.g. the basket changed). Answers for partners
    /// still asked are kept. Throws `{code, message, errors}` on a bad config.
    pub fn update(&self, config: JsValue) -> Result<(), JsValue> {
        let (config, warnings) = config_from_js(config).map_err(|e| e.to_js())?;
        for w in &warnings {
            platform::warn(&format!("config warning: {w}"));
        }
        match self.mounted.borrow().as_ref() {
            Some(m) => {
                m.controller.update(config);
                Ok(())
            }
            None => Err(JsValue::from_str("the consent prompt has been destroyed")),
        }
    }

    /// The records `commit()` would send now, without keeping or sending them.
    pub fn preview(&self) -> js_sys::Promise {
        let controller = self.mounted.borrow().as_ref().map(|m| m.controller.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let Some(c) = controller else {
                return Err(JsValue::from_str("the consent prompt has been destroyed"));
            };
            let records = c.preview().await?;
            platform::to_js(&records).map_err(|e| JsValue::from_str(&e.0))
        })
    }

    /// The patron's receipt for the last successful commit, as
    /// `consent-receipt/1` (`{schema, customerId, generatedAt, records}`),
    /// or `null` before one.
    pub fn receipt(&self) -> JsValue {
        self.mounted
            .borrow()
            .as_ref()
            .map_or(JsValue::NULL, |m| m.controller.receipt())
    }

    /// `{locale, complete, phase, questions, skipped}`.
    pub fn state(&self) -> JsValue {
        self.mounted
            .borrow()
            .as_ref()
            .map_or(JsValue::NULL, |m| m.controller.state())
    }

    /// Unmounts the prompt and removes its listeners. Pending records stay in
    /// the outbox and are sent on the next mount.
    pub fn destroy(&self) {
        if let Some(mut m) = self.mounted.borrow_mut().take() {
            m.destroy();
        }
    }
}

/// Mounts the prompt. `target` is an Element or a CSS selector; `embed` is
/// how the page loaded it (`module`, `script`, `iframe`, `demo`).
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
    let (config, warnings) = config_from_js(config).map_err(|e| e.to_js())?;
    let mounted = mount::mount(host, config, warnings, embed).map_err(|e| e.to_js())?;
    Ok(Handle {
        mounted: Rc::new(RefCell::new(Some(mounted))),
    })
}
