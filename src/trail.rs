//! Where a reading stopped: the path of the value serde refused in a
//! venue's config (`partners[1].notice.version`), found without a second
//! copy of every visitor.
//!
//! serde-wasm-bindgen reads a JS value property by property (a struct's
//! declared fields by name, an array's items by index, a map's entries in
//! turn) and stops at the first value it refuses, with a message but no
//! path. [`read`] reads a value through a JavaScript `Proxy` over each of
//! its objects that notes every property read, in order; the reading's
//! last property is the one it refused. (A `missing field` is found after
//! the struct's last field was read: it is placed at the struct whose
//! read of that field found nothing.) The same notes say which keys the
//! reader knows ([`Known`]): a struct asks for each field it declares, so
//! a key it never asked for is one the config does not have, exactly as
//! serde's own field list would say.
//!
//! A type-directed tracker (`serde_path_to_error`) gives the same paths by
//! wrapping every visitor of every type it reads: about 15 KB gzip of the
//! widget's download (`bench/doc/size-analysis.md`). The trail only watches
//! the one reading serde-wasm-bindgen already does.

use std::cell::RefCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// A step of a path, and a path as the venue reads it: the core's, shared
/// with every reader of configs.
pub(crate) use consent_core::config::{path_text as text, Step as Seg};

/// A reading that stopped: serde's message (without the `Error: ` a JS
/// error's text starts with) and, when the trail shows it, where.
pub(crate) struct Refusal {
    pub message: String,
    pub at: Option<Vec<Seg>>,
}

/// One property read, and whether the object lacked it.
struct Read {
    at: Vec<Seg>,
    absent: bool,
}

/// The properties read so far, and the proxies' traps (kept alive for the
/// reading, dropped with it).
#[derive(Default)]
struct Log {
    reads: Vec<Read>,
    traps: Vec<Closure<dyn FnMut(JsValue, JsValue) -> JsValue>>,
    entries: Vec<Closure<dyn FnMut() -> JsValue>>,
}

type Shared = Rc<RefCell<Log>>;

/// Every property a reading asked for, in order: for an object read as a
/// struct, each field the struct declares (present or not); for a map,
/// each key it holds. What a venue wrote and the reader never asked for is
/// a key the config does not have.
pub(crate) struct Known(Vec<Read>);

impl Known {
    /// The keys read directly under `at`, in the order read, once each;
    /// empty when nothing was read there (not an object the reader took
    /// apart: a value put in place, say, or a wrong type).
    pub fn keys_under(&self, at: &[Seg]) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for r in &self.0 {
            if let Some((Seg::Key(k), parent)) = r.at.split_last() {
                if parent == at && !keys.contains(&k.as_str()) {
                    keys.push(k);
                }
            }
        }
        keys
    }
}

/// Reads `value` as a `T` with serde-wasm-bindgen; on a refusal, says
/// where; either way, which keys it asked for. `value` is never changed.
pub(crate) fn read<T: DeserializeOwned>(value: &JsValue) -> (Result<T, Refusal>, Known) {
    let log: Shared = Rc::default();
    let watched = watch(&log, value, Vec::new());
    let outcome = T::deserialize(serde_wasm_bindgen::Deserializer::from(watched)).map_err(|e| {
        let message = e.to_string();
        let message = message
            .strip_prefix("Error: ")
            .unwrap_or(&message)
            .to_owned();
        let at = stopped_at(&log.borrow().reads, &message);
        Refusal { message, at }
    });
    // The traps hold the log; letting them go breaks the cycle.
    let mut log = log.borrow_mut();
    log.traps.clear();
    log.entries.clear();
    (outcome, Known(std::mem::take(&mut log.reads)))
}

/// Where the reading stopped: the last property read; for a missing field,
/// the struct whose own read of it found nothing (the latest such read
/// that encloses the last one, since that struct's other fields were read
/// after it).
fn stopped_at(reads: &[Read], message: &str) -> Option<Vec<Seg>> {
    let Some(last) = reads.last() else {
        // Nothing read: the value itself was refused.
        return Some(Vec::new());
    };
    let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    else {
        return Some(last.at.clone());
    };
    reads
        .iter()
        .rev()
        .filter(|r| r.absent && r.at.last() == Some(&Seg::Key(field.to_owned())))
        .map(|r| &r.at[..r.at.len() - 1])
        .find(|parent| last.at.starts_with(parent))
        .map(<[Seg]>::to_vec)
}

/// `value` behind a proxy that notes each property read at `at`, and
/// hands out its objects behind proxies of their own.
fn watch(log: &Shared, value: &JsValue, at: Vec<Seg>) -> JsValue {
    if !value.is_object() || value.is_function() {
        return value.clone();
    }
    let array = js_sys::Array::is_array(value);
    let shared = log.clone();
    let trap = Closure::<dyn FnMut(JsValue, JsValue) -> JsValue>::new(
        move |target: JsValue, key: JsValue| {
            let got = js_sys::Reflect::get(&target, &key).unwrap_or(JsValue::UNDEFINED);
            let Some(name) = key.as_string() else {
                // A map is read entry by entry, through its iterator.
                if !array && key == JsValue::from(js_sys::Symbol::iterator()) {
                    return entries(&shared, &target, &at);
                }
                return got;
            };
            let seg = if array {
                match name.parse::<u32>() {
                    Ok(i) => Seg::Index(i),
                    Err(_) => return got, // `length`
                }
            } else {
                Seg::Key(name)
            };
            let mut here = at.clone();
            here.push(seg);
            shared.borrow_mut().reads.push(Read {
                at: here.clone(),
                absent: got.is_undefined(),
            });
            watch(&shared, &got, here)
        },
    );
    let handler = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&handler, &JsValue::from_str("get"), trap.as_ref());
    log.borrow_mut().traps.push(trap);
    js_sys::Proxy::new(value, &handler).into()
}

/// `[Symbol.iterator]` of a watched plain object: a function that returns
/// an iterator of `[key, value]` pairs, each noted as read when it is
/// handed out (serde-wasm-bindgen reads a map's entries this way, one at a
/// time; `Object.entries` would read them all before the first is judged).
fn entries(log: &Shared, target: &JsValue, at: &[Seg]) -> JsValue {
    let keys: Vec<String> = js_sys::Object::keys(target.unchecked_ref::<js_sys::Object>())
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    let (target, at, shared) = (target.clone(), at.to_vec(), log.clone());
    let mut next = 0;
    let step = Closure::<dyn FnMut() -> JsValue>::new(move || {
        let out = js_sys::Object::new();
        let Some(key) = keys.get(next) else {
            let _ = js_sys::Reflect::set(&out, &JsValue::from_str("done"), &JsValue::TRUE);
            return out.into();
        };
        next += 1;
        let got =
            js_sys::Reflect::get(&target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
        let mut here = at.clone();
        here.push(Seg::Key(key.clone()));
        shared.borrow_mut().reads.push(Read {
            at: here.clone(),
            absent: false,
        });
        let pair = js_sys::Array::of2(&JsValue::from_str(key), &watch(&shared, &got, here));
        let _ = js_sys::Reflect::set(&out, &JsValue::from_str("done"), &JsValue::FALSE);
        let _ = js_sys::Reflect::set(&out, &JsValue::from_str("value"), &pair);
        out.into()
    });
    let iterator = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&iterator, &JsValue::from_str("next"), step.as_ref());
    log.borrow_mut().entries.push(step);
    // `[Symbol.iterator]()` is called once, with the proxy as `this`.
    let make = Closure::<dyn FnMut() -> JsValue>::new(move || iterator.clone().into());
    let f: JsValue = make.as_ref().clone();
    log.borrow_mut().entries.push(make);
    f
}
