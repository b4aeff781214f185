//! Every diagnostic code of the conversions, in one place.

/// A stage asked for does not exist in the project.
pub const UNKNOWN_STAGE: &str = "stages::export::unknown-stage";
/// An artifact copy names an artifact the project does not declare.
pub const UNKNOWN_ARTIFACT: &str = "stages::export::unknown-artifact";
/// A stage is emitted before (or without) a stage it needs.
pub const OUT_OF_ORDER: &str = "stages::export::out-of-order";
/// A value has no Dockerfile spelling (a newline in an ENV value, a space in a flag…).
pub const INEXPRESSIBLE: &str = "stages::export::inexpressible";

/// A Dockerfile feature with no stages.toml form (an instruction, a flag, a heredoc use).
pub const UNSUPPORTED: &str = "stages::import::unsupported";
/// An instruction BuildKit's parser accepts but its second layer rejects (no FROM, bad arguments).
pub const MALFORMED: &str = "stages::import::malformed";
/// Something declared twice where stages.toml has one entry per name.
pub const DUPLICATE: &str = "stages::import::duplicate";

/// Every code above, for the uniqueness test.
pub const ALL: &[&str] = &[
    UNKNOWN_STAGE,
    UNKNOWN_ARTIFACT,
    OUT_OF_ORDER,
    INEXPRESSIBLE,
    UNSUPPORTED,
    MALFORMED,
    DUPLICATE,
];

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique() {
        let mut codes = super::ALL.to_vec();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), super::ALL.len());
    }
}
