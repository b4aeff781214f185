use super::*;
use crate::config::model::{Base, StepKind};

fn run(text: &str) -> CheckOutcome {
    check(&SourceFile::new("stages.toml", text))
}

fn codes_of(text: &str) -> Vec<&'static str> {
    run(text).diagnostics.iter().map(|d| d.code).collect()
}

const GOOD: &str = r#"
[args]
GO_VERSION = "1.16"

[stages.builder]
from = "golang:${GO_VERSION}"
workdir = "/src"
steps = [
  { copy = "app.go", to = "./" },
  { run = "go build -o /out/app ." },
]

[artifacts.app]
stage = "builder"
path = "/out/app"

[stages.runtime]
from = "alpine:3.20"
steps = [{ artifact = "app", to = "/usr/local/bin/" }]
cmd = ["app"]

[targets.image]
stage = "runtime"
tags = ["demo:latest"]
"#;

#[test]
fn a_good_file_lowers_with_spans() {
    let outcome = run(GOOD);
    assert!(outcome.diagnostics.is_empty(), "{:?}", outcome.diagnostics);
    let project = outcome.project.expect("no errors");
    let builder = &project.stages[0];
    assert_eq!(
        &GOOD[builder.name.span.start..builder.name.span.end],
        "builder"
    );
    assert_eq!(
        builder.from.value,
        Base::Image("golang:${GO_VERSION}".into())
    );
    let step = &builder.steps[0];
    assert_eq!(
        &GOOD[step.span.start..step.span.end],
        r#"{ copy = "app.go", to = "./" }"#
    );
    match &step.kind {
        StepKind::Copy(copy) => {
            let source = &copy.sources[0];
            assert_eq!(&GOOD[source.span.start..source.span.end], "\"app.go\"");
        }
        other => panic!("expected a copy, got {other:?}"),
    }
    assert_eq!(project.context, ".");
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let codes = codes_of(
        r#"
[stages.a]
from = { stage = "b" }
steps = [{ copy = "x" }, { run = "true", to = "/" }, { artifact = "nope", to = "/" }]
[stages.b]
from = { stage = "a" }
[stages.Bad]
from = "scratch"
"#,
    );
    for code in [
        codes::STEP_MISSING_KEY,
        codes::STEP_FOREIGN_KEY,
        codes::UNKNOWN_ARTIFACT,
        codes::CYCLE,
        codes::INVALID_STAGE_NAME,
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
}

#[test]
fn an_error_means_no_project_and_a_warning_does_not() {
    let warned = run("[stages.a]\nfrom = \"alpine\"\nworkdir = \"$NOPE\"\n");
    assert_eq!(warned.diagnostics.len(), 1);
    assert_eq!(warned.diagnostics[0].code, codes::UNDECLARED_VARIABLE);
    assert!(warned.project.is_some());
    let failed = run("[stages.a]\nfrom = { stage = \"nope\" }\n");
    assert!(failed.project.is_none());
}

#[test]
fn cycles_print_the_loop() {
    let outcome = run(
        "[stages.a]\nfrom = { stage = \"b\" }\n[stages.b]\nfrom = \"x\"\nsteps = [{ copy = \"f\", from = \"a\", to = \"/\" }]\n",
    );
    let cycle = outcome
        .diagnostics
        .iter()
        .find(|d| d.code == codes::CYCLE)
        .expect("a cycle");
    assert!(cycle.message.ends_with("a → b → a"), "{}", cycle.message);
    assert_eq!(cycle.labels.len(), 2);
}

#[test]
fn unreached_stages_warn() {
    let codes = codes_of(
        "[stages.a]\nfrom = \"x\"\n[stages.b]\nfrom = \"y\"\n[targets.t]\nstage = \"b\"\n",
    );
    assert_eq!(codes, [codes::UNREACHED_STAGE]);
}

#[test]
fn backend_limits_name_the_feature() {
    let outcome = run(
        "[stages.a]\nfrom = \"x\"\nsteps = [{ run = \"git clone\", mounts = [{ type = \"ssh\" }] }]\n",
    );
    let project = outcome.project.expect("valid");
    let found = unsupported_features(&project, Backend::Native, &["a".to_owned()]);
    assert_eq!(found.len(), 1);
    assert!(found[0].message.contains("native"), "{}", found[0].message);
    assert!(unsupported_features(&project, Backend::Native, &[]).is_empty());
}
