//! Every diagnostic code of the conversions, in one place.

/// A stage asked for does not exist in the project.
pub const UNKNOWN_STAGE: &str = "stages::export::unknown-stage";
/// An artifact copy names an artifact the project does not declare.
pub const UNKNOWN_ARTIFACT: &str = "stages::export::unknown-artifact";
/// A value has no Dockerfile spelling (a newline in an ENV value, a space in a flag…).
pub const INEXPRESSIBLE: &str = "stages::export::inexpressible";

/// Every code above, for the uniqueness test.
pub const ALL: &[&str] = &[UNKNOWN_STAGE, UNKNOWN_ARTIFACT, INEXPRESSIBLE];

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
