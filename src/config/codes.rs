//! The catalog of diagnostics the loader reports: problems of TOML syntax
//! and of shape (unknown keys, wrong types) found before any rule runs.

/// The text is not valid TOML.
pub const SYNTAX: &str = "stages::config::syntax";
/// A key is written twice in one table.
pub const DUPLICATE_KEY: &str = "stages::config::duplicate-key";
/// A key that this table does not take.
pub const UNKNOWN_KEY: &str = "stages::config::unknown-key";
/// A key this table needs is missing.
pub const MISSING_KEY: &str = "stages::config::missing-key";
/// A value of the wrong type or form.
pub const TYPE: &str = "stages::config::type";

/// A value nests `${…}` expansions deeper than the loader allows.
pub const NESTED_TOO_DEEP: &str = "stages::config::nested-too-deep";

/// Every code above, for the uniqueness test.
pub const ALL: &[&str] = &[
    SYNTAX,
    DUPLICATE_KEY,
    UNKNOWN_KEY,
    MISSING_KEY,
    TYPE,
    NESTED_TOO_DEEP,
];
