//! Test-only support for the property tests of the parsers that take hostile input (the CSV
//! import, the screener's filter language): a small deterministic PRNG and a runner bounded by a
//! number of cases and by wall-clock time, so the properties run in every `cargo test`.
//!
//! Reproducing a failure: the runner prints the failing case's seed; running the test again with
//! `BOURSE_PROPTEST_SEED=<seed>` runs that case first (then the fixed seeds). Any other seed is a
//! new exploration. (Declared from `import` because the crate root is shared; the screener uses it
//! too.)

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::{Duration, Instant};

/// splitmix64: tiny, fast, and every seed (0 included) gives a good stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low) as u64 + 1) as i64
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// A length skewed towards small values but reaching `max` now and then (bugs hide at both ends).
    pub fn size(&mut self, max: usize) -> usize {
        match self.below(4) {
            0 => self.index(4.min(max + 1)),
            1 | 2 => self.index(max.min(16) + 1),
            _ => self.index(max + 1),
        }
    }
}

/// The seed run first when set (decimal or 0x-hex), to reproduce a failure or explore further.
pub fn env_seed() -> Option<u64> {
    let raw = std::env::var("BOURSE_PROPTEST_SEED").ok()?;
    let raw = raw.trim();
    let parsed = match raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => raw.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("BOURSE_PROPTEST_SEED={raw:?} is not a number")))
}

/// How many cases a property ran and for how long (printed; shown with `--nocapture`).
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    pub cases: usize,
    pub elapsed: Duration,
}

/// Runs `property` on up to `cases` cases, or until `budget` is spent (at least one case per
/// seed), over the env seed (if set) and then each of `seeds`. Each case gets its own [`Rng`]: the
/// case seeds of a run are `s, mix(s), mix(mix(s))…`, so a printed case seed replays that case
/// first. A failing case prints its seed and the panic goes on.
pub fn check(name: &str, seeds: &[u64], cases: usize, budget: Duration, mut property: impl FnMut(&mut Rng)) -> Ran {
    let started = Instant::now();
    let runs: Vec<u64> = env_seed().into_iter().chain(seeds.iter().copied()).collect();
    let per_run = cases.div_ceil(runs.len());
    let mut ran = 0;
    for (r, &seed) in runs.iter().enumerate() {
        // Each seed gets its share of what remains of the budget.
        let run_budget = budget.saturating_sub(started.elapsed()) / (runs.len() - r) as u32;
        let run_started = Instant::now();
        let mut case_seed = seed;
        for i in 0..per_run {
            if i > 0 && run_started.elapsed() >= run_budget {
                break;
            }
            let mut rng = Rng::new(case_seed);
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| property(&mut rng))) {
                eprintln!(
                    "property {name} failed (case {i} of seed {seed:#x}); replay it with BOURSE_PROPTEST_SEED={case_seed:#x} cargo test -p bourse-domain {name}"
                );
                resume_unwind(panic);
            }
            ran += 1;
            case_seed = Rng::new(case_seed).next_u64();
        }
    }
    let ran = Ran { cases: ran, elapsed: started.elapsed() };
    eprintln!("property {name}: {} cases in {} ms", ran.cases, ran.elapsed.as_millis());
    ran
}

#[test]
fn the_generator_is_deterministic_and_spread() {
    let (mut a, mut b) = (Rng::new(7), Rng::new(7));
    let draws: Vec<u64> = (0..100).map(|_| a.below(10)).collect();
    assert_eq!(draws, (0..100).map(|_| b.below(10)).collect::<Vec<_>>());
    assert!((0..10).all(|d| draws.contains(&d)));
    assert!((0..1000).map(|_| a.range(-3, 3)).all(|v| (-3..=3).contains(&v)));
}

#[test]
fn a_failing_case_is_replayed_first_from_its_printed_seed() {
    // The runner's case seeds chain: the seed after `s` is the first draw of `Rng::new(s)`.
    let mut seen = Vec::new();
    check("chain", &[42], 3, Duration::from_secs(5), |rng| seen.push(rng.clone().next_u64()));
    if env_seed().is_none() {
        let second = Rng::new(42).next_u64();
        assert_eq!(seen[1], Rng::new(second).next_u64());
    }
}
