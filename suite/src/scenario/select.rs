//! Which scenarios a run takes: `--filter` (a name substring) and `--shard K/N` (one of N
//! slices, so CI can split one target's run across machines and merge the results files with
//! `cogcheck report --from`).
//!
//! A shard is decided by the scenario's position in the name-sorted list of the filtered
//! scenarios, modulo N: every machine of a CI matrix loads the same checkout, so each computes
//! the same list and every scenario lands in exactly one shard, and the slices differ in size
//! by at most one (a hash of the name would be stable across scenario additions, which shards
//! of one run do not need, but could leave one machine with far more work).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Scenario;

/// Slice `index` (from 1) of `count`, written `K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    /// Which slice, 1 to `count`.
    pub index: usize,
    /// How many slices.
    pub count: usize,
}

impl Shard {
    /// Whether the scenario at `position` (from 0) of the name-sorted list falls in this slice.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let usage = || format!("shard {s:?}: expected K/N with 1 <= K <= N, for example 2/3");
        let (k, n) = s.trim().split_once('/').ok_or_else(usage)?;
        let k: usize = k.trim().parse().map_err(|_| usage())?;
        let n: usize = n.trim().parse().map_err(|_| usage())?;
        if n == 0 {
            return Err(format!(
                "shard {s:?}: N (the number of shards) must be at least 1"
            ));
        }
        if k == 0 || k > n {
            return Err(format!(
                "shard {s:?}: K counts the shards from 1 to N, so it must be between 1 and {n}"
            ));
        }
        Ok(Shard { index: k, count: n })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

// In the results JSON a shard is the `K/N` text the user typed.
impl Serialize for Shard {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Shard, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The scenarios whose name contains `filter`, then, of those, the ones in `shard`; sorted by
/// name.
pub fn select(
    mut scenarios: Vec<Scenario>,
    filter: Option<&str>,
    shard: Option<Shard>,
) -> Vec<Scenario> {
    scenarios.retain(|s| filter.is_none_or(|f| s.name().contains(f)));
    scenarios.sort_by_key(Scenario::name);
    match shard {
        None => scenarios,
        Some(shard) => scenarios
            .into_iter()
            .enumerate()
            .filter(|(i, _)| shard.takes(*i))
            .map(|(_, s)| s)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn all() -> Vec<Scenario> {
        super::super::load_dir(&super::super::default_dir()).expect("the scenarios load")
    }

    #[test]
    fn shards_partition_the_scenarios() {
        let scenarios = all();
        let names: Vec<String> = scenarios.iter().map(Scenario::name).collect();
        for count in [1, 2, 3, 7] {
            let mut seen = Vec::new();
            let mut sizes = Vec::new();
            for index in 1..=count {
                let part = select(scenarios.clone(), None, Some(Shard { index, count }));
                sizes.push(part.len());
                seen.extend(part.iter().map(Scenario::name));
            }
            let unique: BTreeSet<&String> = seen.iter().collect();
            assert_eq!(seen.len(), unique.len(), "{count} shards overlap");
            assert_eq!(
                unique.into_iter().cloned().collect::<Vec<_>>(),
                names,
                "{count} shards together are every scenario"
            );
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1), "{sizes:?}");
        }
    }

    #[test]
    fn a_shard_does_not_depend_on_the_load_order() {
        let scenarios = all();
        let shard = Some(Shard { index: 2, count: 3 });
        let mut reversed = scenarios.clone();
        reversed.reverse();
        let names = |v: Vec<Scenario>| v.iter().map(Scenario::name).collect::<Vec<_>>();
        assert_eq!(
            names(select(scenarios, None, shard)),
            names(select(reversed, None, shard))
        );
    }

    #[test]
    fn the_filter_applies_before_the_shard() {
        let scenarios = all();
        let filtered = select(scenarios.clone(), Some("users::"), None);
        assert!(filtered.len() > 2 && filtered.iter().all(|s| s.area == "users"));
        let first = select(
            scenarios,
            Some("users::"),
            Some(Shard { index: 1, count: 2 }),
        );
        assert_eq!(first.len(), filtered.len().div_ceil(2));
        assert!(first.iter().all(|s| s.area == "users"));
    }

    #[test]
    fn shard_text_is_checked() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("1/1".parse(), Ok(Shard { index: 1, count: 1 }));
        for (bad, says) in [
            ("0/3", "between 1 and 3"),
            ("4/3", "between 1 and 3"),
            ("1/0", "at least 1"),
            ("x", "expected K/N"),
            ("2", "expected K/N"),
            ("a/b", "expected K/N"),
            ("-1/3", "expected K/N"),
        ] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let json = serde_json::to_string(&Shard { index: 2, count: 3 }).unwrap();
        assert_eq!(json, "\"2/3\"");
        assert!(serde_json::from_str::<Shard>("\"4/3\"").is_err());
    }
}
