//! The catalog of diagnostics the graph layer reports (target resolution).

/// A name on the command line that is neither a target nor a stage.
pub const UNKNOWN_TARGET: &str = "stages::graph::unknown-target";
/// The project has no stage, so there is nothing to build.
pub const NOTHING_TO_BUILD: &str = "stages::graph::nothing-to-build";

/// Every code above, for the uniqueness test.
pub const ALL: &[&str] = &[UNKNOWN_TARGET, NOTHING_TO_BUILD];
