//! `cargo bench -p consent-core --bench plan`
//!
//! Planning cost over baskets of 10, 1,000 and 10,000 lines with 1,000
//! partners, a fifth of whom the patron has already answered.

use consent_core::domain::Policy;
use consent_core::{fixtures, plan, Timestamp};

fn main() {
    divan::main();
}

#[divan::bench(args = [10, 1_000, 10_000])]
fn plan_basket(bencher: divan::Bencher, lines: usize) {
    let partners = fixtures::partners(1_000);
    let basket = fixtures::basket(lines, 1_000);
    let prefs = fixtures::preferences(1_000, 5);
    let policy = Policy::default();
    let now = Timestamp::from_unix_millis(1_800_000_000_000);
    bencher
        .counter(divan::counter::ItemsCount::new(lines))
        .bench(|| plan(divan::black_box(&basket), &prefs, &partners, &policy, now));
}
