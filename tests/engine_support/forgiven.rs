//! Everything the comparison of two builds of one project forgives, in one
//! place, each with the reason Docker itself differs. Nothing else is
//! normalised: `null` is not `[]`, a link is not a directory, and labels
//! are compared as they are.

/// One difference allowed between an image `stages` built and the image
/// the Engine's classic builder made from the same Dockerfile.
pub struct Forgiven {
    pub what: &'static str,
    pub why: &'static str,
}

/// Configuration fields not compared.
pub const CONFIG_FIELDS: &[Forgiven] = &[
    Forgiven {
        what: "Image",
        why: "the id of the image the last step ran on: every builder names its own intermediate images, and two classic builds of one Dockerfile on two Engines differ here too",
    },
    Forgiven {
        what: "Hostname, Domainname, AttachStd*, Tty, OpenStdin, StdinOnce",
        why: "run-time settings of the container the builder commits, not of the image; `docker run` sets its own",
    },
];

/// Image fields outside the configuration not compared.
pub const IMAGE_FIELDS: &[Forgiven] = &[
    Forgiven {
        what: "Created, history times, file modification times",
        why: "the time of the build: two classic builds of one Dockerfile differ in them",
    },
    Forgiven {
        what: "layer count and layer digests",
        why: "how steps are cut into layers (and their tar headers' times) is the builder's; the file tree they add up to is compared instead",
    },
];

/// Configuration fields not compared between an image the BuildKit back
/// end made and one the native (or classic) builder made.
pub const BUILDKIT_CONFIG_FIELDS: &[Forgiven] = &[Forgiven {
    what: "ArgsEscaped",
    why: "the Dockerfile frontend of the Engine's BuildKit (20.10) sets it to true whenever a CMD or ENTRYPOINT is set, where the classic builder (which native matches) leaves it out; it means something on Windows only, and `docker build` makes the same image",
}];

/// Values of a compared field that BuildKit's frontend writes where the
/// classic builder (which native matches) writes another: `(field, the
/// classic builder's value, BuildKit's value, why)`, values as JSON.
pub const BUILDKIT_CONFIG_VALUES: &[(&str, &str, &str, &str)] = &[(
    "WorkingDir",
    "\"\"",
    "\"/\"",
    "BuildKit's Dockerfile frontend starts a stage with no base configuration (FROM scratch) from an image config whose WorkingDir is \"/\", where the classic builder leaves it empty; both mean the root directory to `docker run`, and `docker build` with BuildKit makes the same image",
)];

/// Whether a difference in `field` between a classic (or native) build and
/// a BuildKit one is BuildKit's own, as listed above.
pub fn buildkit_forgives(
    field: &str,
    classic: &serde_json::Value,
    buildkit: &serde_json::Value,
) -> bool {
    BUILDKIT_CONFIG_FIELDS.iter().any(|f| f.what == field)
        || BUILDKIT_CONFIG_VALUES.iter().any(|(f, want, got, _)| {
            let read = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
            *f == field
                && read(want).as_ref() == Some(classic)
                && read(got).as_ref() == Some(buildkit)
        })
}

/// Differences between the files an artifact target writes with the
/// BuildKit back end and with the others; none is compared by a test.
pub const ARTIFACT_EXPORT: &[Forgiven] = &[Forgiven {
    what: "an artifact whose own path is a symlink",
    why: "BuildKit's local exporter sends the target's stage, made with COPY --from, and COPY follows a symlink named as its source: the file or directory the link names is written under the artifact's name, where the copy-out of the other back ends (like `docker cp`) writes the link itself. Links inside an exported directory are kept by both",
}];

/// Paths of the file tree not compared (relative to `/`).
pub const PATHS: &[(&str, &str)] = &[
    (
        "etc/hostname",
        "the Engine makes it in every container as a mount point for the container's own; which commits keep an empty one depends on which steps ran a container",
    ),
    ("etc/hosts", "as etc/hostname"),
    ("etc/resolv.conf", "as etc/hostname"),
    (
        ".dockerenv",
        "the Engine's marker of a container, made like etc/hostname",
    ),
];

/// Whether `path` (as a downloaded archive names it) is forgiven.
pub fn path_forgiven(path: &str) -> bool {
    let path = path
        .trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/');
    PATHS.iter().any(|(forgiven, _)| *forgiven == path)
}

/// The configuration fields compared, exactly as the Engine stores them.
pub const COMPARED_CONFIG: &[&str] = &[
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "Healthcheck",
    "StopSignal",
    "OnBuild",
    "Shell",
    "ArgsEscaped",
];
