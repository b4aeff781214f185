//! Image configuration kept in place: import makes a config step
//! (`{ label = … }`, `{ cmd = … }`, …) only where moving the instruction
//! after the steps would change the image, export writes it back where it
//! was, and the written stages.toml checks and imports back the same.

use stages::check::check;
use stages::config::model::{Project, Stage, StepKind};
use stages::config::write::{WriteOptions, write_project};
use stages::convert::{ExportOptions, ImportOptions, export_dockerfile, import_dockerfile_source};
use stages::diagnostics::SourceFile;
use stages::dockerfile::parse;

/// The shape of kubernetes/ingress-nginx's chroot image: labels read
/// build args that a later ENV sets again.
const INGRESS_LIKE: &str = r#"ARG BASE_IMAGE=busybox:stages-test
FROM ${BASE_IMAGE} AS chroot
RUN mkdir -p /chroot/etc

FROM ${BASE_IMAGE}
ARG VERSION=1.0
ARG COMMIT_SHA=abc123
LABEL org.opencontainers.image.title="NGINX Ingress Controller"
LABEL org.opencontainers.image.version="${VERSION}"
LABEL org.opencontainers.image.revision="${COMMIT_SHA}"
LABEL build_id="${BUILD_ID}"
ENV VERSION=2.0 \
    BUILD_ID=from-env
COPY --from=chroot /chroot /chroot
EXPOSE 80 443
CMD echo "running $VERSION"
SHELL ["/bin/sh", "-ec"]
RUN echo "$VERSION" > /version
"#;

/// Dockerfile → project → stages.toml text → checked project.
fn import_and_check(dockerfile: &str) -> (String, Project) {
    let file = parse(dockerfile).expect("parses");
    let imported = import_dockerfile_source(&file, Some(dockerfile), &ImportOptions::default())
        .unwrap_or_else(|errors| panic!("import refused: {errors:#?}"));
    let toml = write_project(
        &imported.project,
        &imported.notes,
        WriteOptions { schema: false },
    );
    let outcome = check(&SourceFile::new("stages.toml", toml.as_str()));
    let project = outcome
        .project
        .unwrap_or_else(|| panic!("{toml}\ndoes not check: {:#?}", outcome.diagnostics));
    (toml, project)
}

fn export_all(project: &Project) -> String {
    let names: Vec<String> = project
        .stages
        .iter()
        .map(|s| s.name.value.clone())
        .collect();
    export_dockerfile(project, &names, &ExportOptions::default())
        .expect("exports")
        .text
}

/// The keywords of the last stage's instructions, FROM first.
fn last_stage_keywords(dockerfile: &str) -> Vec<String> {
    let file = parse(dockerfile).expect("parses");
    let keywords: Vec<String> = file
        .nodes
        .iter()
        .map(|node| node.keyword.to_uppercase())
        .collect();
    let from = keywords.iter().rposition(|k| k == "FROM").expect("a FROM");
    keywords[from..].to_vec()
}

fn config_steps(stage: &Stage) -> Vec<&'static str> {
    stage
        .steps
        .iter()
        .filter_map(|step| match &step.kind {
            StepKind::Config(config) => Some(config.keyword()),
            _ => None,
        })
        .collect()
}

#[test]
fn only_configuration_a_later_instruction_changes_stays_in_place() {
    let (toml, project) = import_and_check(INGRESS_LIKE);
    let stage = &project.stages[1];
    assert_eq!(config_steps(stage), ["LABEL", "LABEL", "CMD"], "{toml}");
    let kept: Vec<&str> = stage
        .config
        .labels
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        kept,
        [
            "org.opencontainers.image.title",
            "org.opencontainers.image.revision"
        ],
        "{toml}"
    );
    assert_eq!(stage.config.expose.len(), 2, "{toml}");
    assert!(
        toml.contains(r#"{ label = { "org.opencontainers.image.version" = "${VERSION}" } },"#),
        "{toml}"
    );
    // The version label sits before the ENV that changes VERSION.
    let label = toml.find("image.version").expect("the label");
    let env = toml.find("{ env = {").expect("the env step");
    assert!(label < env, "{toml}");
}

#[test]
fn export_writes_the_kept_configuration_where_it_was() {
    let (_, project) = import_and_check(INGRESS_LIKE);
    let exported = export_all(&project);
    assert_eq!(
        last_stage_keywords(&exported),
        [
            "FROM", "ARG", "ARG", "LABEL", "LABEL", "ENV", "COPY", "CMD", "SHELL", "RUN", "EXPOSE",
            "LABEL"
        ],
        "{exported}"
    );
    // And the exported file imports back to the same project.
    let (_, again) = import_and_check(&exported);
    assert_eq!(again, project, "{exported}");
}

#[test]
fn an_earlier_setting_of_what_stays_in_place_stays_too() {
    let dockerfile = "\
FROM busybox:stages-test
LABEL other=x
LABEL v=first
LABEL v=${V}
ENTRYPOINT [\"/bin/sh\", \"-c\"]
STOPSIGNAL SIGTERM
STOPSIGNAL ${SIGNAL}
ARG V=2 SIGNAL=SIGINT
";
    let (toml, project) = import_and_check(dockerfile);
    let stage = &project.stages[0];
    // `v=first` moved after `v=${V}` would override it; `other` would not.
    assert_eq!(
        config_steps(stage),
        ["LABEL", "LABEL", "STOPSIGNAL", "STOPSIGNAL"],
        "{toml}"
    );
    assert_eq!(stage.config.labels, [("other".to_owned(), "x".to_owned())]);
    assert!(stage.config.entrypoint.is_some(), "{toml}");
    let exported = export_all(&project);
    assert_eq!(
        last_stage_keywords(&exported),
        [
            "FROM",
            "LABEL",
            "LABEL",
            "STOPSIGNAL",
            "STOPSIGNAL",
            "ARG",
            "ARG",
            "ENTRYPOINT",
            "LABEL"
        ],
        "{exported}"
    );
}

#[test]
fn harmless_configuration_keeps_the_stage_keys() {
    let dockerfile = "\
FROM busybox:stages-test
ARG VERSION=1
LABEL version=${VERSION}
CMD [\"serve\"]
SHELL [\"/bin/sh\", \"-ec\"]
ENV OTHER=2
RUN true
";
    let (toml, project) = import_and_check(dockerfile);
    assert!(config_steps(&project.stages[0]).is_empty(), "{toml}");
    assert!(
        toml.contains("labels = { version = \"${VERSION}\" }"),
        "{toml}"
    );
}

#[test]
fn hand_written_config_steps_check_and_export_in_place() {
    let toml = r#"[stages.app]
from = "busybox:stages-test"
args = { VERSION = "1" }
steps = [
  { label = { version = "${VERSION}" } },
  { expose = [8080, "53/udp"] },
  { volume = ["/data"] },
  { stop-signal = "SIGINT" },
  { entrypoint = ["/app"] },
  { cmd = "serve" },
  { env = { VERSION = "2" } },
  { run = "true" },
]
labels = { other = "x" }
"#;
    let outcome = check(&SourceFile::new("stages.toml", toml));
    let project = outcome
        .project
        .unwrap_or_else(|| panic!("{:#?}", outcome.diagnostics));
    let exported = export_all(&project);
    assert_eq!(
        last_stage_keywords(&exported),
        [
            "FROM",
            "ARG",
            "LABEL",
            "EXPOSE",
            "VOLUME",
            "STOPSIGNAL",
            "ENTRYPOINT",
            "CMD",
            "ENV",
            "RUN",
            "LABEL"
        ],
        "{exported}"
    );
    assert!(exported.contains("EXPOSE 8080 53/udp\n"), "{exported}");
    assert!(exported.contains("CMD serve\n"), "{exported}");
}
