//! Every diagnostic of `stages migrate`, in one place: `stages::migrate::*`.
//! Warnings say what was not migrated and what to do instead; errors stop
//! the migration before anything is written.

/// The script never builds an image.
pub const NO_BUILD: &str = "stages::migrate::no-build";
/// A Dockerfile the script builds cannot be read or converted, or lacks the `--target` stage.
pub const DOCKERFILE: &str = "stages::migrate::dockerfile";
/// A Dockerfile the script builds is not in the directory; that build is left out.
pub const MISSING_DOCKERFILE: &str = "stages::migrate::missing-dockerfile";
/// `docker run -v …`: files are produced when a container runs, not when an image builds.
pub const RUN_TIME_OUTPUT: &str = "stages::migrate::run-time-output";
/// `docker run` that copies nothing out (a test, a tool): not part of a build.
pub const CONTAINER_RUN: &str = "stages::migrate::container-run";
/// A container ran its image's default command, which comes from a base image stages cannot see.
pub const UNKNOWN_COMMAND: &str = "stages::migrate::unknown-command";
/// A service started for later builds to reach over the network.
pub const NETWORK_SERVICE: &str = "stages::migrate::network-service";
/// A loop (`for`, `while`, `case`): its commands run several times with changing values.
pub const LOOP: &str = "stages::migrate::loop";
/// A value computed when the script runs (`$(…)`).
pub const DYNAMIC_VALUE: &str = "stages::migrate::dynamic-value";
/// A variable the script never sets: it comes from the caller's environment.
pub const ENVIRONMENT_VALUE: &str = "stages::migrate::environment-value";
/// A command with no place in a stages.toml.
pub const NOT_MIGRATED: &str = "stages::migrate::not-migrated";
/// A `docker build` flag with no stages.toml form.
pub const BUILD_FLAG: &str = "stages::migrate::build-flag";
/// An image or container the script did not build or create.
pub const UNKNOWN_IMAGE: &str = "stages::migrate::unknown-image";
/// `docker cp` into a container.
pub const COPY_INTO_CONTAINER: &str = "stages::migrate::copy-into-container";
/// A COPY of a directory that holds extracted files and files of the repository.
pub const PARTIAL_DIRECTORY: &str = "stages::migrate::partial-directory";
/// ADD of an extracted archive: ADD unpacks it, an artifact copy does not.
pub const ADD_ARCHIVE: &str = "stages::migrate::add-archive";
/// A file extracted under another name than it has in the image.
pub const RENAMED_ON_HOST: &str = "stages::migrate::renamed-on-host";
/// Files the script writes outside the directory of the result.
pub const OUTPUT_OUTSIDE_RESULT: &str = "stages::migrate::output-outside-result";
/// A `--build-arg` no Dockerfile declares.
pub const UNUSED_BUILD_ARG: &str = "stages::migrate::unused-build-arg";
/// Two builds give the same build argument different values.
pub const CONFLICTING_ARG: &str = "stages::migrate::conflicting-arg";
/// `MAINTAINER` became the `maintainer` label.
pub const MAINTAINER: &str = "stages::migrate::maintainer";
/// A build context that is not a directory of the project (a URL, `-`).
pub const EXTERNAL_CONTEXT: &str = "stages::migrate::external-context";

/// Every code above, for the uniqueness test.
pub const ALL: &[&str] = &[
    NO_BUILD,
    DOCKERFILE,
    MISSING_DOCKERFILE,
    RUN_TIME_OUTPUT,
    CONTAINER_RUN,
    UNKNOWN_COMMAND,
    NETWORK_SERVICE,
    LOOP,
    DYNAMIC_VALUE,
    ENVIRONMENT_VALUE,
    NOT_MIGRATED,
    BUILD_FLAG,
    UNKNOWN_IMAGE,
    COPY_INTO_CONTAINER,
    PARTIAL_DIRECTORY,
    ADD_ARCHIVE,
    RENAMED_ON_HOST,
    OUTPUT_OUTSIDE_RESULT,
    UNUSED_BUILD_ARG,
    CONFLICTING_ARG,
    MAINTAINER,
    EXTERNAL_CONTEXT,
];

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_and_namespaced() {
        let mut seen = std::collections::HashSet::new();
        for code in super::ALL {
            assert!(seen.insert(*code), "{code} is declared twice");
            let name = code
                .strip_prefix("stages::migrate::")
                .unwrap_or_else(|| panic!("{code} is outside stages::migrate"));
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        }
    }
}
