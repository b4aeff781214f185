//! Build records: what each step's cache key was made of, per build, so
//! that `stages build --explain` and `stages why` can say why a step did
//! not come from the cache (`COPY src/ ./ re-ran: src/main.rs changed`).
//!
//! `record` is the data, `recorder` fills it while a build runs,
//! `explain` compares a step with the earlier build's, `reason` words the
//! outcome, `store` keeps the last two records in the project's state
//! directory. Back ends describe their steps in these terms; nothing here
//! imports a back end.

pub mod explain;
pub mod reason;
pub mod record;
pub mod recorder;
pub mod store;

#[cfg(test)]
mod explain_tests;

pub use reason::Reason;
pub use record::{BaseRecord, BuildRecord, FileRecord, StageRecord, StepRecord, UpstreamRecord};
pub use recorder::Recorder;
