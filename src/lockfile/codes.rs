//! Diagnostic codes for `stages.lock`.

pub const SYNTAX: &str = "stages::lock::syntax";
pub const SHAPE: &str = "stages::lock::shape";
pub const VERSION: &str = "stages::lock::version";
pub const DIGEST: &str = "stages::lock::digest";
pub const REFERENCE: &str = "stages::lock::reference";
pub const DUPLICATE: &str = "stages::lock::duplicate";
pub const CHECKSUM: &str = "stages::lock::checksum";
pub const COMMIT: &str = "stages::lock::commit";
pub const SOURCE: &str = "stages::lock::source";
