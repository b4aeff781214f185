//! The catalog of lint rules: BuildKit's build checks under their own
//! names, and the rules of our own that need the whole stage graph. Each
//! rule has one diagnostic code, `stages::lint::<Name>`, so a finding's rule
//! is its code's last segment.

use crate::diagnostics::Severity;

/// One rule: its name (BuildKit's, where BuildKit has it), what it checks,
/// where it is documented, and what it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub code: &'static str,
    pub description: &'static str,
    /// BuildKit's page for its rules; our own rules have none.
    pub url: Option<&'static str>,
    pub severity: Severity,
    pub on_dockerfile: bool,
    pub on_toml: bool,
}

macro_rules! rules {
    ($( $ident:ident = $name:literal, $desc:literal, $url:expr, dockerfile: $df:literal, toml: $toml:literal; )*) => {
        $(
            pub const $ident: Rule = Rule {
                name: $name,
                code: concat!("stages::lint::", $name),
                description: $desc,
                url: $url,
                severity: Severity::Warning,
                on_dockerfile: $df,
                on_toml: $toml,
            };
        )*
        /// Every rule, BuildKit's first in BuildKit's order.
        pub const ALL: &[Rule] = &[$($ident),*];
    };
}

rules! {
    STAGE_NAME_CASING = "StageNameCasing", "Stage names should be lowercase",
        Some("https://docs.docker.com/go/dockerfile/rule/stage-name-casing/"), dockerfile: true, toml: false;
    FROM_AS_CASING = "FromAsCasing", "The 'as' keyword should match the case of the 'from' keyword",
        Some("https://docs.docker.com/go/dockerfile/rule/from-as-casing/"), dockerfile: true, toml: false;
    NO_EMPTY_CONTINUATION = "NoEmptyContinuation", "Empty continuation lines will become errors in a future release",
        Some("https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/"), dockerfile: true, toml: false;
    CONSISTENT_INSTRUCTION_CASING = "ConsistentInstructionCasing", "All commands within the Dockerfile should use the same casing (either upper or lower)",
        Some("https://docs.docker.com/go/dockerfile/rule/consistent-instruction-casing/"), dockerfile: true, toml: false;
    DUPLICATE_STAGE_NAME = "DuplicateStageName", "Stage names should be unique",
        Some("https://docs.docker.com/go/dockerfile/rule/duplicate-stage-name/"), dockerfile: true, toml: false;
    RESERVED_STAGE_NAME = "ReservedStageName", "Reserved words should not be used as stage names",
        Some("https://docs.docker.com/go/dockerfile/rule/reserved-stage-name/"), dockerfile: true, toml: true;
    JSON_ARGS_RECOMMENDED = "JSONArgsRecommended", "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
        Some("https://docs.docker.com/go/dockerfile/rule/json-args-recommended/"), dockerfile: true, toml: true;
    MAINTAINER_DEPRECATED = "MaintainerDeprecated", "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
        Some("https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/"), dockerfile: true, toml: false;
    UNDEFINED_ARG_IN_FROM = "UndefinedArgInFrom", "FROM command must use declared ARGs",
        Some("https://docs.docker.com/go/dockerfile/rule/undefined-arg-in-from/"), dockerfile: true, toml: true;
    WORKDIR_RELATIVE_PATH = "WorkdirRelativePath", "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes",
        Some("https://docs.docker.com/go/dockerfile/rule/workdir-relative-path/"), dockerfile: true, toml: true;
    UNDEFINED_VAR = "UndefinedVar", "Variables should be defined before their use",
        Some("https://docs.docker.com/go/dockerfile/rule/undefined-var/"), dockerfile: true, toml: true;
    MULTIPLE_INSTRUCTIONS_DISALLOWED = "MultipleInstructionsDisallowed", "Multiple instructions of the same type should not be used in the same stage",
        Some("https://docs.docker.com/go/dockerfile/rule/multiple-instructions-disallowed/"), dockerfile: true, toml: false;
    LEGACY_KEY_VALUE_FORMAT = "LegacyKeyValueFormat", "Legacy key/value format with whitespace separator should not be used",
        Some("https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/"), dockerfile: true, toml: false;
    INVALID_BASE_IMAGE_PLATFORM = "InvalidBaseImagePlatform", "Base image platform does not match expected target platform",
        None, dockerfile: true, toml: true;
    REDUNDANT_TARGET_PLATFORM = "RedundantTargetPlatform", "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
        Some("https://docs.docker.com/go/dockerfile/rule/redundant-target-platform/"), dockerfile: true, toml: true;
    SECRETS_USED_IN_ARG_OR_ENV = "SecretsUsedInArgOrEnv", "Sensitive data should not be used in the ARG or ENV commands",
        Some("https://docs.docker.com/go/dockerfile/rule/secrets-used-in-arg-or-env/"), dockerfile: true, toml: true;
    INVALID_DEFAULT_ARG_IN_FROM = "InvalidDefaultArgInFrom", "Default value for global ARG results in an empty or invalid base image name",
        Some("https://docs.docker.com/go/dockerfile/rule/invalid-default-arg-in-from/"), dockerfile: true, toml: true;
    FROM_PLATFORM_FLAG_CONST_DISALLOWED = "FromPlatformFlagConstDisallowed", "FROM --platform flag should not use a constant value",
        Some("https://docs.docker.com/go/dockerfile/rule/from-platform-flag-const-disallowed/"), dockerfile: true, toml: true;
    COPY_IGNORED_FILE = "CopyIgnoredFile", "Attempting to Copy file that is excluded by .dockerignore",
        Some("https://docs.docker.com/go/dockerfile/rule/copy-ignored-file/"), dockerfile: true, toml: false;
    EXPOSE_PROTO_CASING = "ExposeProtoCasing", "Protocol in EXPOSE instruction should be lowercase",
        Some("https://docs.docker.com/go/dockerfile/rule/expose-proto-casing/"), dockerfile: true, toml: true;
    EXPOSE_INVALID_FORMAT = "ExposeInvalidFormat", "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release",
        Some("https://docs.docker.com/go/dockerfile/rule/expose-invalid-format/"), dockerfile: true, toml: false;
    ARTIFACT_OVERWRITTEN = "ArtifactOverwritten", "An artifact's path is deleted or overwritten by a later step of its stage",
        None, dockerfile: false, toml: true;
    CACHE_MOUNT_EXPORTED = "CacheMountExported", "A cache mount's path is also exported as an artifact",
        None, dockerfile: false, toml: true;
    SECRET_PATH_COPIED = "SecretPathCopied", "A secret mount's path is also reached by a copy or an artifact",
        None, dockerfile: false, toml: true;
    UNPINNED_BASE_IMAGE = "UnpinnedBaseImage", "A base image is named by tag only and the project's stages.lock does not pin it",
        None, dockerfile: false, toml: true;
    ROOT_RUNTIME_USER = "RootRuntimeUser", "An image target runs as root",
        None, dockerfile: false, toml: true;
    WHOLE_STAGE_COPIED = "WholeStageCopied", "A runtime stage copies the whole filesystem of a builder stage",
        None, dockerfile: false, toml: true;
}

/// The rule a name means, compared as BuildKit does (exactly).
pub fn by_name(name: &str) -> Option<&'static Rule> {
    ALL.iter().find(|r| r.name == name)
}

/// The rule a diagnostic code belongs to, if it is a lint code.
pub fn by_code(code: &str) -> Option<&'static Rule> {
    ALL.iter().find(|r| r.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_are_unique() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.code, b.code);
            }
        }
    }

    #[test]
    fn every_buildkit_rule_is_there() {
        for name in [
            "StageNameCasing",
            "FromAsCasing",
            "NoEmptyContinuation",
            "ConsistentInstructionCasing",
            "DuplicateStageName",
            "ReservedStageName",
            "JSONArgsRecommended",
            "MaintainerDeprecated",
            "UndefinedArgInFrom",
            "WorkdirRelativePath",
            "UndefinedVar",
            "MultipleInstructionsDisallowed",
            "LegacyKeyValueFormat",
            "InvalidBaseImagePlatform",
            "RedundantTargetPlatform",
            "SecretsUsedInArgOrEnv",
            "InvalidDefaultArgInFrom",
            "FromPlatformFlagConstDisallowed",
            "CopyIgnoredFile",
            "ExposeProtoCasing",
            "ExposeInvalidFormat",
        ] {
            let rule = by_name(name).expect(name);
            assert!(rule.url.is_some() || name == "InvalidBaseImagePlatform");
        }
    }
}
