//! The built-in strategies as JSON (`torture list --json`, schema
//! `torture/strategies/v1`): each one's name, the verdict it must get under
//! SIGKILL torture, what an exploration must find in it, and its summary,
//! for scripts that build scenarios or a CI matrix from the zoo.
//!
//! A contract like the reports: fields are only ever added.

use serde::Serialize;

use crate::strategy::{self, Strategy};
use crate::vocab::finding_words;

/// The schema of the document [`strategies_json`] renders.
pub const STRATEGIES_SCHEMA: &str = "torture/strategies/v1";

#[derive(Serialize)]
struct Catalogue {
    schema: &'static str,
    strategies: Vec<Entry>,
}

#[derive(Serialize)]
struct Entry {
    name: &'static str,
    /// `pass`, or the violation classes joined with `+`, as `torture list`
    /// and a scenario report's `expected` write them.
    expected: String,
    /// The `class@fault` pairs `torture explore` must find; empty: none.
    explore: Vec<String>,
    description: &'static str,
}

impl Entry {
    fn of(s: &dyn Strategy) -> Self {
        Entry {
            name: s.name(),
            expected: s.expected().to_string(),
            explore: finding_words(s.explore_expected()),
            description: s.summary(),
        }
    }
}

/// Every built-in strategy, in `torture list`'s order, as pretty JSON.
pub fn strategies_json() -> Vec<u8> {
    super::pretty_json(&Catalogue {
        schema: STRATEGIES_SCHEMA,
        strategies: strategy::all().iter().map(|s| Entry::of(*s)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_strategy_is_listed_with_its_expectations() {
        let doc: serde_json::Value = serde_json::from_slice(&strategies_json()).unwrap();
        assert_eq!(doc["schema"], STRATEGIES_SCHEMA);
        let listed = doc["strategies"].as_array().unwrap();
        assert_eq!(listed.len(), strategy::all().len());
        for (entry, s) in listed.iter().zip(strategy::all()) {
            assert_eq!(entry["name"], s.name());
            assert_eq!(entry["expected"], s.expected().to_string());
            let explore: Vec<&str> = entry["explore"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap())
                .collect();
            // Each word reads back, with the scenario files' parser, as
            // the pair the strategy declares.
            let read: Vec<_> = explore
                .iter()
                .map(|w| crate::vocab::ExploreExpectation::parse_finding(w).unwrap())
                .collect();
            assert_eq!(read, s.explore_expected());
        }
    }
}
