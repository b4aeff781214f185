//! A stage named `scratch`, which BuildKit builds (with its
//! ReservedStageName warning): a later `FROM scratch` or `COPY
//! --from=scratch` reads the stage, an earlier `FROM scratch` the empty
//! image. stages.toml keeps `from = "scratch"` for the empty image and
//! `{ stage = "scratch" }` for the stage; import gives each its form, and
//! export writes them back, refusing the empty image where BuildKit would
//! read the stage. The build part runs against the real Engine and FAILS
//! when it is unreachable.

mod engine_support;

use engine_support::{Run, engine, files, remove_images, stages, unique};
use stages::check::check;
use stages::config::model::{Base, Project};
use stages::config::write::{WriteOptions, write_project};
use stages::convert::{ExportOptions, ImportOptions, export_dockerfile, import_dockerfile_source};
use stages::diagnostics::SourceFile;
use stages::dockerfile::parse;

const DOCKERFILE: &str = "\
FROM scratch AS empty
FROM busybox:stages-test AS scratch
RUN echo from-the-stage > /marker
FROM scratch AS final
COPY --from=scratch /marker /copied
RUN cat /marker /copied > /seen
";

fn imported(dockerfile: &str) -> (String, Project) {
    let file = parse(dockerfile).expect("parses");
    let imported = import_dockerfile_source(&file, Some(dockerfile), &ImportOptions::default())
        .unwrap_or_else(|errors| panic!("import refused: {errors:#?}"));
    let toml = write_project(
        &imported.project,
        &imported.notes,
        WriteOptions { schema: false },
    );
    let outcome = check(&SourceFile::new("stages.toml", toml.as_str()));
    assert!(
        outcome.diagnostics.is_empty(),
        "{toml}\n{:#?}",
        outcome.diagnostics
    );
    (toml, outcome.project.expect("checks"))
}

fn export_all(project: &Project) -> Result<String, String> {
    let names: Vec<String> = project
        .stages
        .iter()
        .map(|s| s.name.value.clone())
        .collect();
    export_dockerfile(project, &names, &ExportOptions::default())
        .map(|e| e.text)
        .map_err(|d| format!("{}: {:?}", d.message, d.help))
}

#[test]
fn import_reads_scratch_as_buildkit_does_and_export_writes_it_back() {
    let (toml, project) = imported(DOCKERFILE);
    let base = |name: &str| project.stage(name).expect("stage").from.value.clone();
    assert_eq!(base("empty"), Base::Image("scratch".into()), "{toml}");
    assert_eq!(base("final"), Base::Stage("scratch".into()), "{toml}");
    let exported = export_all(&project).expect("exports");
    assert!(
        exported.contains("FROM scratch AS empty\n")
            && exported.contains("FROM busybox:stages-test AS scratch\n")
            && exported.contains("FROM scratch AS final\n"),
        "{exported}"
    );
    let (_, again) = imported(&exported);
    assert_eq!(again, project, "{exported}");
}

#[test]
fn the_empty_image_after_a_stage_named_scratch_cannot_be_exported() {
    let toml = r#"[stages.scratch]
from = "busybox:stages-test"

[stages.empty]
from = "scratch"
"#;
    let project = check(&SourceFile::new("stages.toml", toml))
        .project
        .expect("checks");
    let why = export_all(&project).expect_err("BuildKit would read the stage");
    assert!(
        why.contains("stage `empty` starts from the empty image after a stage named `scratch`"),
        "{why}"
    );
}

fn build(dir: &std::path::Path, backend: &str) -> Run {
    Run::from(
        stages()
            .current_dir(dir)
            .args(["build", "app", "--backend", backend, "--progress", "plain"])
            .output()
            .expect("run stages"),
    )
}

#[test]
fn every_back_end_builds_from_the_stage_named_scratch() {
    engine();
    let (toml, _) = imported(DOCKERFILE);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut tags = Vec::new();
    for backend in ["native", "buildkit", "dockerfile"] {
        let tag = format!("{}:{backend}", unique("stages-scratch-stage"));
        let project = format!("{toml}\n[targets.app]\nstage = \"final\"\ntags = [\"{tag}\"]\n");
        std::fs::write(dir.path().join("stages.toml"), project).expect("write stages.toml");
        build(dir.path(), backend).success();
        assert_eq!(
            files(&tag, "/seen")["seen"].text(),
            "from-the-stage\nfrom-the-stage\n",
            "{backend}"
        );
        tags.push(tag);
    }
    let _ = stages()
        .current_dir(dir.path())
        .args(["cache", "prune"])
        .output();
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    remove_images(&tags);
}
