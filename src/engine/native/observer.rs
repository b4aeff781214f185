//! What a native build tells whoever shows progress. Every method has an
//! empty default, so an observer implements only what it shows.

/// Events of a native build, per stage and step.
pub trait BuildObserver: Send + Sync {
    fn stage_started(&self, _stage: &str) {}
    /// `index` counts from 0 over the stage's steps; the stage's final
    /// configuration commit comes last.
    fn step_started(&self, _stage: &str, _index: usize, _text: &str) {}
    fn step_cached(&self, _stage: &str, _index: usize) {}
    /// Output of a RUN, as it arrives.
    fn output(&self, _stage: &str, _chunk: &[u8]) {}
    fn stage_done(&self, _stage: &str, _image: &str) {}
    fn stage_failed(&self, _stage: &str, _message: &str) {}
}

/// Shows nothing.
pub struct Silent;

impl BuildObserver for Silent {}
