//! The equivalence suite over the corpus's real projects: each build of
//! each project made by `docker build` (classic) and by `stages build`
//! with every back end, the images compared exactly, smoke-tested.
#![allow(dead_code)]

pub mod artifacts;
pub mod backends;
pub mod builds;
pub mod compare;
pub mod config;
pub mod exclusions;
pub mod manifest;
pub mod project;
pub mod smoke;
pub mod tracked;
pub mod tree;
pub mod twice;

use std::sync::{Condvar, Mutex};

/// How many projects build at once, whatever the test harness's thread
/// count: their builds are heavy (compilers in containers). Set with
/// `STAGES_EQUIVALENCE_JOBS`; 2 by default.
pub fn jobs() -> usize {
    std::env::var("STAGES_EQUIVALENCE_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(2)
}

static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

/// A place among the `jobs()` projects building at once.
pub struct Slot;

impl Slot {
    pub fn take() -> Self {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *running >= jobs() {
            running = FREED
                .wait(running)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *running += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *running -= 1;
        FREED.notify_one();
    }
}
