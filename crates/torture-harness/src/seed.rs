//! Seeds and deterministic draws.
//!
//! Every random decision of a run is a pure function of the run's seed and
//! of what it decides about, so the same seed draws the same decisions
//! whatever the order in which events arrive.

/// One step of SplitMix64: a fast, well-mixed 64-bit hash.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A draw in `[0, 1)` determined by the seed and the given keys.
pub fn unit(seed: u64, keys: &[u64]) -> f64 {
    let h = keys
        .iter()
        .fold(splitmix64(seed), |h, &k| splitmix64(h ^ k));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A fresh seed from the operating system's randomness.
pub fn fresh() -> u64 {
    rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_deterministic_and_in_range() {
        let a = unit(42, &[1, 2]);
        assert_eq!(a, unit(42, &[1, 2]));
        assert_ne!(a, unit(43, &[1, 2]));
        assert!((0.0..1.0).contains(&a));
    }

    #[test]
    fn unit_is_roughly_uniform() {
        let below = (0..10_000).filter(|&i| unit(7, &[i]) < 0.1).count();
        assert!((800..1200).contains(&below), "{below}");
    }
}
