//! The catalog of every diagnostic the checker reports. Each code is
//! `stages::check::<kebab-name>`; `ALL` lists them for the uniqueness test.

// Shape of stages, steps, artifacts and targets (found while lowering).
/// `[project] builder` is not a builder address, or holds a secret.
pub const BUILDER_ADDRESS: &str = "stages::check::builder-address";
/// The file declares no stage.
pub const NO_STAGES: &str = "stages::check::no-stages";
/// A stage has no `from`.
pub const MISSING_FROM: &str = "stages::check::missing-from";
/// A step has no kind key (`run`, `copy`, …).
pub const STEP_WITHOUT_KIND: &str = "stages::check::step-without-kind";
/// A step has more than one kind key.
pub const STEP_WITH_SEVERAL_KINDS: &str = "stages::check::step-with-several-kinds";
/// A step lacks a key its kind needs (`to` on a copy).
pub const STEP_MISSING_KEY: &str = "stages::check::step-missing-key";
/// A step has a key that belongs to another kind (`mounts` on a copy).
pub const STEP_FOREIGN_KEY: &str = "stages::check::step-foreign-key";
/// Two keys that exclude each other (`from` and `from-image`).
pub const CONFLICTING_KEYS: &str = "stages::check::conflicting-keys";
/// A mount type that does not exist.
pub const UNKNOWN_MOUNT_TYPE: &str = "stages::check::unknown-mount-type";
/// A mount option its type does not take, a missing one, or a bad value.
pub const MOUNT_OPTION: &str = "stages::check::mount-option";
/// A `network` value other than default, none, host.
pub const INVALID_NETWORK: &str = "stages::check::invalid-network";
/// A `security` value other than sandbox, insecure.
pub const INVALID_SECURITY: &str = "stages::check::invalid-security";
/// An artifact without `stage` or `path`.
pub const ARTIFACT_MISSING_KEY: &str = "stages::check::artifact-missing-key";
/// A target that is neither (or both) an image and an artifact target.
pub const TARGET_KIND: &str = "stages::check::target-kind";
/// A target lacking a key its kind needs (`output`, `artifacts`).
pub const TARGET_MISSING_KEY: &str = "stages::check::target-missing-key";
/// A target key that belongs to the other kind (`tags` on an artifact target).
pub const TARGET_FOREIGN_KEY: &str = "stages::check::target-foreign-key";

// References.
/// A stage name that no `[stages.NAME]` declares.
pub const UNKNOWN_STAGE: &str = "stages::check::unknown-stage";
/// An artifact name that no `[artifacts.NAME]` declares.
pub const UNKNOWN_ARTIFACT: &str = "stages::check::unknown-artifact";
/// A `default-target` that is neither a target nor a stage.
pub const UNKNOWN_DEFAULT_TARGET: &str = "stages::check::unknown-default-target";
/// Stages that need each other in a loop.
pub const CYCLE: &str = "stages::check::cycle";
/// A string `from` equal to a stage name (it is read as an image).
pub const IMAGE_NAMED_LIKE_STAGE: &str = "stages::check::image-named-like-stage";
/// A mount `from` close to a stage name but not one (it is read as an image).
pub const MOUNT_FROM_NOT_A_STAGE: &str = "stages::check::mount-from-not-a-stage";

// Names, paths, variables.
/// A stage name Docker does not accept.
pub const INVALID_STAGE_NAME: &str = "stages::check::invalid-stage-name";
/// An artifact path that is not absolute.
pub const RELATIVE_ARTIFACT_PATH: &str = "stages::check::relative-artifact-path";
/// A context source that is absolute or climbs out with `..`.
pub const SOURCE_OUTSIDE_CONTEXT: &str = "stages::check::source-outside-context";
/// An artifact target's `output` outside the project directory.
pub const OUTPUT_OUTSIDE_PROJECT: &str = "stages::check::output-outside-project";
/// An `expose` entry Docker rejects.
pub const INVALID_PORT: &str = "stages::check::invalid-port";
/// A health-check duration without units or with a bad one.
pub const INVALID_DURATION: &str = "stages::check::invalid-duration";
/// A `$VAR` that names no declared arg or env.
pub const UNDECLARED_VARIABLE: &str = "stages::check::undeclared-variable";
/// A target sets a build argument that nothing declares.
pub const UNKNOWN_BUILD_ARG: &str = "stages::check::unknown-build-arg";
/// A stage that no target needs: it is never built.
pub const UNREACHED_STAGE: &str = "stages::check::unreached-stage";
/// An image reference or tag Docker's reference grammar rejects.
pub const INVALID_IMAGE_REFERENCE: &str = "stages::check::invalid-image-reference";
/// An ARG or ENV name no Dockerfile can declare (empty, flag-like, with spaces or quotes).
pub const INVALID_VARIABLE_NAME: &str = "stages::check::invalid-variable-name";
/// A value written as a `--flag=value` word that cannot be one word.
pub const INVALID_FLAG_VALUE: &str = "stages::check::invalid-flag-value";
/// A value a Dockerfile holds on one line that is several lines, blank,
/// padded with whitespace or ends with `\`.
pub const INVALID_LINE_VALUE: &str = "stages::check::invalid-line-value";
/// A feature the chosen backend cannot express.
pub const UNSUPPORTED_FEATURE: &str = "stages::check::unsupported-feature";

/// Every code above, for the uniqueness test.
pub const ALL: &[&str] = &[
    BUILDER_ADDRESS,
    NO_STAGES,
    MISSING_FROM,
    STEP_WITHOUT_KIND,
    STEP_WITH_SEVERAL_KINDS,
    STEP_MISSING_KEY,
    STEP_FOREIGN_KEY,
    CONFLICTING_KEYS,
    UNKNOWN_MOUNT_TYPE,
    MOUNT_OPTION,
    INVALID_NETWORK,
    INVALID_SECURITY,
    ARTIFACT_MISSING_KEY,
    TARGET_KIND,
    TARGET_MISSING_KEY,
    TARGET_FOREIGN_KEY,
    UNKNOWN_STAGE,
    UNKNOWN_ARTIFACT,
    UNKNOWN_DEFAULT_TARGET,
    CYCLE,
    IMAGE_NAMED_LIKE_STAGE,
    MOUNT_FROM_NOT_A_STAGE,
    INVALID_STAGE_NAME,
    RELATIVE_ARTIFACT_PATH,
    SOURCE_OUTSIDE_CONTEXT,
    OUTPUT_OUTSIDE_PROJECT,
    INVALID_PORT,
    INVALID_DURATION,
    UNDECLARED_VARIABLE,
    UNKNOWN_BUILD_ARG,
    UNREACHED_STAGE,
    UNSUPPORTED_FEATURE,
    INVALID_IMAGE_REFERENCE,
    INVALID_VARIABLE_NAME,
    INVALID_FLAG_VALUE,
    INVALID_LINE_VALUE,
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_across_layers() {
        let mut seen = HashSet::new();
        for code in super::ALL
            .iter()
            .chain(crate::config::codes::ALL)
            .chain(crate::graph::codes::ALL)
        {
            assert!(seen.insert(*code), "code {code} is declared twice");
            assert!(code.starts_with("stages::"), "{code} is not namespaced");
        }
    }

    #[test]
    fn every_check_code_is_in_its_namespace() {
        for code in super::ALL {
            let name = code
                .strip_prefix("stages::check::")
                .unwrap_or_else(|| panic!("{code} is outside stages::check"));
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{code} is not kebab-case"
            );
        }
    }
}
