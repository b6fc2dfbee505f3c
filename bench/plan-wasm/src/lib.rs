//! The planner, timed inside wasm: `consent_core::plan` over the fixtures
//! of `crates/consent-core/benches/plan.rs` (1,000 partners, a fifth of
//! them already answered). The clock is `performance.now()`; plans are
//! dropped after the clock stops, as divan does natively.

use std::hint::black_box;

use consent_core::domain::{BasketLine, Partner, Policy, Preference};
use consent_core::{fixtures, plan, Timestamp};
use wasm_bindgen::prelude::*;

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Inputs built once, outside any timing.
#[wasm_bindgen]
pub struct PlanBench {
    partners: Vec<Partner>,
    basket: Vec<BasketLine>,
    preferences: Vec<Preference>,
    policy: Policy,
    now: Timestamp,
    clock: web_sys::Performance,
}

#[wasm_bindgen]
impl PlanBench {
    /// A basket of `lines` lines over `partners` partners.
    #[wasm_bindgen(constructor)]
    pub fn new(lines: usize, partners: usize) -> Result<PlanBench, JsValue> {
        let clock = web_sys::window()
            .and_then(|w| w.performance())
            .ok_or_else(|| JsValue::from_str("no window.performance"))?;
        Ok(PlanBench {
            partners: fixtures::partners(partners),
            basket: fixtures::basket(lines, partners),
            preferences: fixtures::preferences(partners, 5),
            policy: Policy::default(),
            now: Timestamp::from_unix_millis(1_800_000_000_000),
            clock,
        })
    }

    /// Plans `iterations` times; returns the elapsed milliseconds.
    pub fn run(&self, iterations: u32) -> f64 {
        let mut plans = Vec::with_capacity(iterations as usize);
        let start = self.clock.now();
        for _ in 0..iterations {
            plans.push(black_box(plan(
                black_box(&self.basket),
                &self.preferences,
                &self.partners,
                &self.policy,
                self.now,
            )));
        }
        let elapsed = self.clock.now() - start;
        drop(black_box(plans));
        elapsed
    }

    /// Questions and skipped partners in one plan: a sanity check that the
    /// work is the same as natively.
    pub fn shape(&self) -> Vec<u32> {
        let p = plan(
            &self.basket,
            &self.preferences,
            &self.partners,
            &self.policy,
            self.now,
        );
        vec![p.questions.len() as u32, p.skipped.len() as u32]
    }
}
