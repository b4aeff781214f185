//! What a native build tells whoever shows progress. Every method has an
//! empty default, so an observer implements only what it shows.

use crate::engine::build_record::Reason;

/// Events of a native build, per stage and step.
pub trait BuildObserver: Send + Sync {
    fn stage_started(&self, _stage: &str) {}
    /// `index` counts from 0 over the stage's steps; the stage's final
    /// configuration commit comes last.
    fn step_started(&self, _stage: &str, _index: usize, _text: &str) {}
    fn step_cached(&self, _stage: &str, _index: usize) {}
    /// The step just started did not come from the cache, for `reasons`
    /// (the most telling first), told by comparing with the last build.
    fn step_explained(&self, _stage: &str, _index: usize, _text: &str, _reasons: &[Reason]) {}
    /// Output of a RUN, as it arrives.
    fn output(&self, _stage: &str, _chunk: &[u8]) {}
    fn stage_done(&self, _stage: &str, _image: &str) {}
    fn stage_failed(&self, _stage: &str, _message: &str) {}
}

/// Shows nothing.
pub struct Silent;

impl BuildObserver for Silent {}
