//! The `stages.toml` file as written: serde types, kebab-case keys, mostly
//! optional, each value that an error may point at kept `Located`.
//!
//! These types accept every file that is well-formed TOML of the right
//! shape; whether it makes sense is the checker's business (`crate::check`),
//! which lowers them to `crate::config::model`. They also generate the JSON
//! Schema, so their doc comments are what editors show.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use super::args_form::GlobalArgs;
use super::forms::{ArgDefault, CommandForm, FromRef, Healthcheck, Port, Sources};
use super::user_form::{UserText, optional_user};
use crate::located::Located;

/// A map whose keys keep their place in the file, in file order.
pub type Named<T> = IndexMap<Located<String>, T>;

/// A `stages.toml` file: stages, the artifacts they produce and the targets a user builds.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(title = "stages.toml")]
pub struct Manifest {
    /// Where editors find this schema (a `#:schema` comment at the top works too).
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    /// Project-wide settings.
    #[serde(default)]
    pub project: Option<RawProject>,
    /// Global build arguments (ARG before the first FROM): `NAME = "default"`, `NAME = {}` for no default, or an array of declarations made in turn.
    #[serde(default)]
    pub args: GlobalArgs,
    /// The stages, in file order: each a filesystem and image config built from a base and steps.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, RawStage>")]
    pub stages: Named<RawStage>,
    /// Named paths produced by a stage and consumed by other stages or exported to the host.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, RawArtifact>")]
    pub artifacts: Named<RawArtifact>,
    /// What users build: images (a stage and tags) or artifacts written to a host directory.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, RawTarget>")]
    pub targets: Named<RawTarget>,
    /// Which `stages lint` rules run on this file, and how severe they are.
    #[serde(default)]
    pub lint: Option<RawLint>,
}

/// `[lint]`: controls of `stages lint` (and of the lint warnings of `stages check`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawLint {
    /// Rules not to run, by BuildKit's names (`"JSONArgsRecommended"`) or ours; `"all"` skips every rule.
    #[serde(default)]
    pub skip: Vec<Located<String>>,
    /// Report findings as errors, not warnings (like BuildKit's `# check=error=true`).
    #[serde(default)]
    pub error: bool,
}

/// Project-wide settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawProject {
    /// The project's name, used in labels and progress output.
    pub name: Option<Located<String>>,
    /// The build context, relative to this file. Default: ".".
    pub context: Option<Located<String>>,
    /// The target (or stage) built when none is named on the command line.
    pub default_target: Option<Located<String>>,
    /// Build reproducibly: `SOURCE_DATE_EPOCH` taken from the last git commit when not set (as `stages build --reproducible`).
    #[serde(default)]
    pub reproducible: bool,
    /// The BuildKit builder to build on (`"tcp://host:1234"`, `"unix:///run/buildkit/buildkitd.sock"`), as `stages build --builder` gives it; `--builder` and `BUILDKIT_HOST` take precedence. Only addresses without secrets: no `user:password@`.
    pub builder: Option<Located<String>>,
}

/// A stage: `FROM <from>` followed by its settings and steps.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawStage {
    /// The base: an image reference (`"alpine:3.20"`, `"scratch"`) or `{ stage = "name" }`.
    pub from: Option<Located<FromRef>>,
    /// The platform of the base image, e.g. `"linux/amd64"` or `"$BUILDPLATFORM"`.
    pub platform: Option<Located<String>>,
    /// Stage build arguments (ARG after FROM); `{}` re-declares a global one.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, ArgDefault>")]
    pub args: Named<ArgDefault>,
    /// Environment variables set right after FROM.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub env: Named<Located<String>>,
    /// The working directory set right after FROM.
    pub workdir: Option<Located<String>>,
    /// The user (and group) set right after FROM: `"app"`, `"1000:1000"` or a uid such as `65534`.
    #[serde(default, deserialize_with = "optional_user")]
    #[schemars(with = "Option<UserText>")]
    pub user: Option<Located<String>>,
    /// The shell used for shell-form commands, e.g. `["/bin/bash", "-c"]`.
    pub shell: Option<Located<Vec<String>>>,
    /// The ordered steps; each has exactly one kind key (`run`, `copy`, `artifact`, `add`, `env`, `workdir`, `user`, `arg`, `shell`).
    #[serde(default)]
    pub steps: Vec<Located<RawStep>>,
    /// The default command: a string (shell form) or an array (exec form).
    pub cmd: Option<Located<CommandForm>>,
    /// The entrypoint: a string (shell form) or an array (exec form).
    pub entrypoint: Option<Located<CommandForm>>,
    /// Ports the image listens on: `8080`, `"8080/tcp"`, `"53/udp"`.
    #[serde(default)]
    pub expose: Vec<Located<Port>>,
    /// Image labels.
    #[serde(default)]
    pub labels: IndexMap<String, String>,
    /// Mount points declared as volumes.
    #[serde(default)]
    pub volumes: Vec<Located<String>>,
    /// The health check: a table, or `"none"` to disable the base image's.
    pub healthcheck: Option<Located<Healthcheck>>,
    /// The signal that stops the container, e.g. `"SIGTERM"`.
    pub stop_signal: Option<Located<String>>,
    /// Instructions run when this image is used as a base, written as Dockerfile lines.
    #[serde(default)]
    pub onbuild: Vec<Located<String>>,
    /// The image's author, as Dockerfile's deprecated `MAINTAINER` sets it; taken as written (no `${…}` expansion, as in Docker).
    pub maintainer: Option<Located<String>>,
}

/// One step. Exactly one kind key (`run`, `copy`, `artifact`, `add`, `env`, `workdir`, `user`, `arg`, `shell`, or image configuration kept in place: `label`, `expose`, `volume`, `stop-signal`, `cmd`, `entrypoint`), plus the options that kind takes.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawStep {
    /// RUN: a string (shell form; several lines become a heredoc) or an array (exec form).
    pub run: Option<Located<CommandForm>>,
    /// COPY: a source path or pattern, or an array of them; needs `to`.
    pub copy: Option<Located<Sources>>,
    /// Copy a named artifact (from `[artifacts]`); needs `to`.
    pub artifact: Option<Located<String>>,
    /// ADD: a source path, URL or git repository, or an array of them; needs `to`.
    pub add: Option<Located<Sources>>,
    /// ENV between other steps.
    #[schemars(with = "Option<IndexMap<String, String>>")]
    pub env: Option<Located<Named<Located<String>>>>,
    /// WORKDIR between other steps.
    pub workdir: Option<Located<String>>,
    /// USER between other steps: `"app"`, `"1000:1000"` or a uid such as `65534`.
    #[serde(default, deserialize_with = "optional_user")]
    #[schemars(with = "Option<UserText>")]
    pub user: Option<Located<String>>,
    /// ARG between other steps.
    #[schemars(with = "Option<IndexMap<String, ArgDefault>>")]
    pub arg: Option<Located<Named<ArgDefault>>>,
    /// SHELL between other steps.
    pub shell: Option<Located<Vec<String>>>,
    /// LABEL kept in place: its values expand variables as they are here, not after the steps as `labels` does.
    #[schemars(with = "Option<IndexMap<String, String>>")]
    pub label: Option<Located<IndexMap<String, String>>>,
    /// EXPOSE kept in place: ports expanded as the variables are here, not after the steps as `expose` does.
    pub expose: Option<Located<Vec<Located<Port>>>>,
    /// VOLUME kept in place: paths expanded as the variables are here, not after the steps as `volumes` does.
    pub volume: Option<Located<Vec<Located<String>>>>,
    /// STOPSIGNAL kept in place: expanded as the variables are here, not after the steps as `stop-signal` does.
    pub stop_signal: Option<Located<String>>,
    /// CMD kept in place: a shell form runs with the shell set here, not the stage's last.
    pub cmd: Option<Located<CommandForm>>,
    /// ENTRYPOINT kept in place: a shell form runs with the shell set here, not the stage's last.
    pub entrypoint: Option<Located<CommandForm>>,

    /// copy/add/artifact: the destination (absolute, or relative to the working directory; a trailing `/` means a directory).
    pub to: Option<Located<String>>,
    /// copy: the stage to copy from (COPY --from=<stage>).
    pub from: Option<Located<String>>,
    /// copy: an image to copy from (COPY --from=<image>).
    pub from_image: Option<Located<String>>,
    /// copy/add/artifact: owner of the copied files, `user[:group]`.
    pub chown: Option<Located<String>>,
    /// copy/add/artifact: mode of the copied files, e.g. `"0755"`.
    pub chmod: Option<Located<String>>,
    /// copy/add/artifact: copy into an independent layer (COPY --link).
    pub link: Option<Located<bool>>,
    /// copy/add: patterns to leave out (COPY --exclude).
    pub exclude: Option<Vec<Located<String>>>,
    /// copy/add: keep the source's parent directories (COPY --parents).
    pub parents: Option<Located<bool>>,
    /// copy: the contents of `<<NAME` sources, by NAME (`{ copy = "<<EOF", to = "/f", heredocs = { EOF = "text\n" } }` is `COPY <<EOF /f`).
    #[schemars(with = "Option<IndexMap<String, String>>")]
    pub heredocs: Option<Located<IndexMap<String, String>>>,
    /// add: the digest the download must have (ADD --checksum).
    pub checksum: Option<Located<String>>,
    /// add: keep the `.git` directory of a git source (ADD --keep-git-dir).
    pub keep_git_dir: Option<Located<bool>>,
    /// add: unpack a tar archive source, or copy it as it is (ADD --unpack); unset, local archives are unpacked and downloads are not.
    pub unpack: Option<Located<bool>>,
    /// run: mounts for this step only (RUN --mount).
    pub mounts: Option<Vec<Located<RawMount>>>,
    /// run: the network for this step: `"default"`, `"none"` or `"host"`.
    pub network: Option<Located<String>>,
    /// run: `"sandbox"` or `"insecure"`.
    pub security: Option<Located<String>>,
    /// run: CDI devices for this step (RUN --device), e.g. `"vendor.com/gpu=all"`; `,required` fails the step when one is missing.
    pub devices: Option<Vec<Located<String>>>,
}

/// A mount for one RUN step.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawMount {
    /// `"cache"`, `"bind"`, `"secret"`, `"tmpfs"` or `"ssh"`.
    #[serde(rename = "type")]
    pub kind: Option<Located<String>>,
    /// Where the mount appears in the container.
    pub target: Option<Located<String>>,
    /// The path in `from` (or the context) to mount; for secrets, unused.
    pub source: Option<Located<String>>,
    /// The stage or image the source comes from (bind and cache mounts).
    pub from: Option<Located<String>>,
    /// The cache, secret or ssh id.
    pub id: Option<Located<String>>,
    /// cache: `"shared"`, `"private"` or `"locked"`.
    pub sharing: Option<Located<String>>,
    /// Mount read-only (bind mounts are read-only unless `readonly = false`).
    pub readonly: Option<Located<bool>>,
    /// secret/ssh: fail when the secret is not given.
    pub required: Option<Located<bool>>,
    /// File mode of the mount, e.g. `"0400"`.
    pub mode: Option<Located<String>>,
    /// Owner user id of the mount.
    pub uid: Option<Located<u32>>,
    /// Owner group id of the mount.
    pub gid: Option<Located<u32>>,
    /// tmpfs: size limit, e.g. `"64m"`.
    pub size: Option<Located<String>>,
    /// secret: expose it as this environment variable instead of a file.
    pub env: Option<Located<String>>,
}

/// A named output of a stage.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawArtifact {
    /// The stage that produces it.
    pub stage: Option<Located<String>>,
    /// Its absolute path inside that stage.
    pub path: Option<Located<String>>,
    /// What it is, for people.
    pub description: Option<String>,
}

/// What a user builds: an image target (`stage`, `tags`) or an artifact target (`artifacts`, `output`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawTarget {
    /// Image target: the stage whose image is the result.
    pub stage: Option<Located<String>>,
    /// Image target: tags given to the image when the build succeeds.
    #[serde(default)]
    pub tags: Vec<Located<String>>,
    /// Image target: extra labels on the image.
    #[serde(default)]
    pub labels: IndexMap<String, String>,
    /// Build argument values for this target (override defaults).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub args: Named<Located<String>>,
    /// Platforms to build for, e.g. `["linux/amd64"]`; an artifact target
    /// given several writes one directory per platform (`linux_amd64/`).
    #[serde(default)]
    pub platforms: Vec<Located<String>>,
    /// Artifact target: the artifacts to write to the host.
    #[serde(default)]
    pub artifacts: Vec<Located<String>>,
    /// Artifact target: the host directory, relative to this file.
    pub output: Option<Located<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::forms::{CommandForm, FromRef};

    const SAMPLE: &str = r#"
[project]
name = "demo"

[args]
GO_VERSION = "1.16"
REVISION = {}

[stages.builder]
from = "golang:${GO_VERSION}"
steps = [
  { run = "go build -o app ." },
  { copy = ["a", "b"], to = "./" },
]

[stages.runtime]
from = { stage = "builder" }
cmd = ["./app"]
expose = [8080, "53/udp"]
"#;

    #[test]
    fn keeps_file_order_and_spans() {
        let manifest: Manifest = toml::from_str(SAMPLE).expect("sample parses");
        let names: Vec<&str> = manifest.stages.keys().map(|k| k.value.as_str()).collect();
        assert_eq!(names, ["builder", "runtime"]);
        let builder_key = manifest.stages.keys().next().expect("one stage");
        assert_eq!(
            &SAMPLE[builder_key.span.start..builder_key.span.end],
            "builder"
        );
        let runtime = &manifest.stages[1];
        let from = runtime.from.as_ref().expect("from is set");
        match &from.value {
            FromRef::Stage(stage) => {
                assert_eq!(stage.value, "builder");
                assert_eq!(&SAMPLE[stage.span.start..stage.span.end], "\"builder\"");
            }
            FromRef::Image(_) => panic!("expected a stage base"),
        }
        assert_eq!(
            runtime.cmd.as_ref().map(|c| &c.value),
            Some(&CommandForm::Exec(vec!["./app".into()]))
        );
        match &manifest.args {
            GlobalArgs::Table(args) => assert_eq!(args.len(), 2),
            GlobalArgs::Ordered(_) => panic!("expected the table form"),
        }
        assert_eq!(manifest.stages[0].steps.len(), 2);
    }

    #[test]
    fn string_or_table_errors_show_both_forms() {
        let err =
            toml::from_str::<Manifest>("[stages.a]\nfrom = 3\n").expect_err("a number is no base");
        assert!(
            err.message().contains("{ stage = \"builder\" }"),
            "{}",
            err.message()
        );
    }
}
