//! Session and build ids: random, 25 lowercase base-36 characters like
//! the docker CLI's.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh id no other session or build uses.
pub fn random_id() -> String {
    let mut id = String::with_capacity(25);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut round = 0u64;
    while id.len() < 25 {
        // RandomState is seeded from the OS for each instance.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u32(std::process::id());
        hasher.write_u64(count);
        hasher.write_u64(round);
        let mut value = hasher.finish();
        for _ in 0..12 {
            let digit = (value % 36) as u32;
            id.push(char::from_digit(digit, 36).unwrap_or('0'));
            value /= 36;
        }
        round += 1;
    }
    id.truncate(25);
    id
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_differ_and_have_the_docker_shape() {
        let a = super::random_id();
        let b = super::random_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 25);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        );
    }
}
