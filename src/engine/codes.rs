//! The engine layer's diagnostic codes, in one place.

/// The Engine could not be reached at the address tried.
pub const UNREACHABLE: &str = "stages::engine::unreachable";
/// The Engine address is not one `stages` can use.
pub const BAD_ADDRESS: &str = "stages::engine::bad-address";
/// A step of the build failed.
pub const STEP_FAILED: &str = "stages::engine::step-failed";
/// The build failed outside any step (the Engine reported an error).
pub const BUILD_FAILED: &str = "stages::engine::build-failed";
/// A COPY/ADD source leads outside the build context.
pub const SOURCE_ESCAPES_CONTEXT: &str = "stages::engine::source-escapes-context";
/// A COPY/ADD source is not in the build context on disk.
pub const MISSING_SOURCE: &str = "stages::engine::missing-source";
/// A COPY/ADD source is in the context directory but `.dockerignore` leaves it out.
pub const IGNORED_SOURCE: &str = "stages::engine::ignored-source";
/// The chosen back end cannot express a feature the build uses.
pub const UNSUPPORTED_FEATURE: &str = "stages::engine::unsupported-feature";
/// An artifact could not be exported to the host.
pub const ARTIFACT_EXPORT: &str = "stages::engine::artifact-export";
/// An artifact target's output directory resolves outside the project.
pub const OUTPUT_OUTSIDE_PROJECT: &str = "stages::engine::output-outside-project";
/// A tag could not be applied.
pub const TAG_FAILED: &str = "stages::engine::tag-failed";

/// Every code, for the uniqueness test.
pub const ALL: &[&str] = &[
    UNREACHABLE,
    BAD_ADDRESS,
    STEP_FAILED,
    BUILD_FAILED,
    SOURCE_ESCAPES_CONTEXT,
    MISSING_SOURCE,
    IGNORED_SOURCE,
    UNSUPPORTED_FEATURE,
    ARTIFACT_EXPORT,
    OUTPUT_OUTSIDE_PROJECT,
    TAG_FAILED,
];

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_and_namespaced() {
        let mut seen = std::collections::HashSet::new();
        for code in super::ALL {
            assert!(code.starts_with("stages::engine::"), "{code}");
            assert!(seen.insert(code), "duplicate code {code}");
        }
    }
}
