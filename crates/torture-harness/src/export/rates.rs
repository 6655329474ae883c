//! How often each scenario of a set met its expectation.
//!
//! `torture run --repeat N` runs every scenario N times, so a set's
//! results hold several runs of one scenario, in the order they were made.
//! A scenario is its file (and name): its runs are the results with the
//! same ones, its rate the number of them that met the expectation, and
//! the runs `--fail-fast` or an interrupt left undone count apart, as not
//! run, never as met or missed. Every format (the human lines, JSON,
//! JUnit, Markdown) takes the rates from here, so they agree.

use std::collections::HashMap;

use serde::Serialize;

use super::Finished;

/// One scenario's runs in a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rate {
    /// The scenario file, if any.
    pub file: Option<String>,
    /// The scenario's name.
    pub name: String,
    /// `run` or `explore`.
    pub mode: &'static str,
    /// Its expectation, in words.
    pub expected: String,
    /// The runs made.
    pub runs: u32,
    /// The runs that met the expectation.
    pub met: u32,
    /// The runs not made (`--fail-fast`, an interrupt).
    pub not_run: u32,
}

impl Rate {
    /// Whether every run was made and met the expectation.
    pub fn all_met(&self) -> bool {
        self.met == self.runs && self.not_run == 0
    }
}

/// The identity of a scenario among the results: its file and name.
fn key(result: &Finished) -> (Option<&str>, &str) {
    (result.file(), result.name())
}

/// One rate per scenario of `results` (comparisons aside), in the order
/// each first appears.
pub fn rates(results: &[Finished]) -> Vec<Rate> {
    let mut rates: Vec<Rate> = Vec::new();
    for result in results {
        if matches!(result, Finished::Compare(_)) {
            continue;
        }
        let at = rates
            .iter()
            .position(|r| (r.file.as_deref(), r.name.as_str()) == key(result));
        let rate = match at {
            Some(i) => &mut rates[i],
            None => {
                rates.push(Rate {
                    file: result.file().map(str::to_string),
                    name: result.name().to_string(),
                    mode: result.mode(),
                    expected: result.expected(),
                    runs: 0,
                    met: 0,
                    not_run: 0,
                });
                rates.last_mut().expect("just pushed")
            }
        };
        match result {
            Finished::NotRun(n) => rate.not_run += n.runs,
            other => {
                rate.runs += 1;
                rate.met += u32::from(other.met());
            }
        }
    }
    rates
}

/// For each of `results`, which run of its scenario it is, counting from
/// 1 (0 for a scenario not run), and how many runs of that scenario were
/// asked for: made or not.
pub fn repetitions(results: &[Finished]) -> Vec<(u32, u32)> {
    let mut made: HashMap<(Option<&str>, &str), u32> = HashMap::new();
    let mut asked: HashMap<(Option<&str>, &str), u32> = HashMap::new();
    let index: Vec<u32> = results
        .iter()
        .map(|r| {
            let runs = match r {
                Finished::NotRun(n) => n.runs,
                _ => 1,
            };
            *asked.entry(key(r)).or_default() += runs;
            match r.ran() {
                true => {
                    let n = made.entry(key(r)).or_default();
                    *n += 1;
                    *n
                }
                false => 0,
            }
        })
        .collect();
    results
        .iter()
        .zip(index)
        .map(|(r, k)| (k, asked[&key(r)]))
        .collect()
}

/// Whether some scenario of `results` was run more than once.
pub fn repeated(results: &[Finished]) -> bool {
    rates(results).iter().any(|r| r.runs + r.not_run > 1)
}
