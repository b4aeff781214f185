//! Every diagnostic code the Dockerfile layer reports, in one place.

pub const EMPTY_FILE: &str = "stages::dockerfile::empty-file";
pub const DIRECTIVE_REPEATED: &str = "stages::dockerfile::directive-repeated";
pub const INVALID_ESCAPE: &str = "stages::dockerfile::invalid-escape";
pub const MISSING_VALUE: &str = "stages::dockerfile::missing-value";
pub const MISSING_EQUALS: &str = "stages::dockerfile::missing-equals";
pub const JSON_NOT_STRINGS: &str = "stages::dockerfile::json-not-strings";
pub const UNTERMINATED_HEREDOC: &str = "stages::dockerfile::unterminated-heredoc";
pub const INVALID_HEREDOC: &str = "stages::dockerfile::invalid-heredoc";
pub const UNKNOWN_INSTRUCTION: &str = "stages::dockerfile::unknown-instruction";
pub const UNKNOWN_FLAG: &str = "stages::dockerfile::unknown-flag";
pub const INVALID_FLAG: &str = "stages::dockerfile::invalid-flag";
pub const MISSING_ARGUMENTS: &str = "stages::dockerfile::missing-arguments";
pub const INVALID_ARGUMENTS: &str = "stages::dockerfile::invalid-arguments";
pub const NO_STAGE: &str = "stages::dockerfile::no-stage";
pub const INVALID_STAGE_NAME: &str = "stages::dockerfile::invalid-stage-name";
pub const DUPLICATE_STAGE_NAME: &str = "stages::dockerfile::duplicate-stage-name";
pub const MOUNT_FROM_VARIABLE: &str = "stages::dockerfile::mount-from-variable";
pub const INVALID_MOUNT: &str = "stages::dockerfile::invalid-mount";
pub const CIRCULAR_DEPENDENCY: &str = "stages::dockerfile::circular-dependency";
pub const UNKNOWN_TARGET: &str = "stages::dockerfile::unknown-target";
pub const NOT_UTF8: &str = "stages::dockerfile::not-utf8";
pub const FMT_CHANGES_MEANING: &str = "stages::dockerfile::fmt-changes-meaning";

/// All codes, for the uniqueness test.
pub const ALL: &[&str] = &[
    EMPTY_FILE,
    DIRECTIVE_REPEATED,
    INVALID_ESCAPE,
    MISSING_VALUE,
    MISSING_EQUALS,
    JSON_NOT_STRINGS,
    UNTERMINATED_HEREDOC,
    INVALID_HEREDOC,
    UNKNOWN_INSTRUCTION,
    UNKNOWN_FLAG,
    INVALID_FLAG,
    MISSING_ARGUMENTS,
    INVALID_ARGUMENTS,
    NO_STAGE,
    INVALID_STAGE_NAME,
    DUPLICATE_STAGE_NAME,
    MOUNT_FROM_VARIABLE,
    INVALID_MOUNT,
    CIRCULAR_DEPENDENCY,
    UNKNOWN_TARGET,
    NOT_UTF8,
    FMT_CHANGES_MEANING,
];

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_and_namespaced() {
        let mut seen = std::collections::HashSet::new();
        for code in super::ALL {
            assert!(code.starts_with("stages::dockerfile::"), "{code}");
            assert!(seen.insert(*code), "duplicate code {code}");
        }
    }
}
