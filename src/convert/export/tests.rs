//! Export of projects built in code; the golden tests over `examples/` live in `tests/`.

use super::*;
use crate::config::forms::CommandForm;
use crate::config::forms::HealthcheckTable;
use crate::config::model::{
    ArgDecl, Artifact, ArtifactCopy, Copy, CopyOptions, Health, ImageConfig, Run, Step,
};
use crate::located::{Located, Span};

fn stage(name: &str, from: Base, steps: Vec<StepKind>) -> Stage {
    Stage {
        name: Located::unplaced(name.into()),
        from: Located::unplaced(from),
        platform: None,
        args: Vec::new(),
        env: Vec::new(),
        workdir: None,
        user: None,
        shell: None,
        steps: steps
            .into_iter()
            .map(|kind| Step {
                kind,
                span: Span::default(),
            })
            .collect(),
        config: ImageConfig::default(),
    }
}

fn run(text: &str) -> StepKind {
    StepKind::Run(Run {
        command: Located::unplaced(CommandForm::Shell(text.into())),
        mounts: Vec::new(),
        network: None,
        security: None,
        devices: Vec::new(),
    })
}

fn href_counter() -> Project {
    let mut builder = stage(
        "builder",
        Base::Image("golang:${GO_VERSION}".into()),
        vec![
            run("go get -d -v golang.org/x/net/html"),
            StepKind::Copy(Copy {
                sources: vec![Located::unplaced("app.go".into())],
                to: Located::unplaced("./".into()),
                from: None,
                options: CopyOptions::default(),
                exclude: Vec::new(),
                parents: false,
                heredocs: Vec::new(),
            }),
            run("go build -a -installsuffix cgo -o app ."),
        ],
    );
    builder.workdir = Some(Located::unplaced("/go/src/app/".into()));
    builder.env = vec![(
        Located::unplaced("CGO_ENABLED".into()),
        Located::unplaced("0".into()),
    )];
    let mut runtime = stage(
        "runtime",
        Base::Image("alpine:latest".into()),
        vec![
            run("apk --no-cache add ca-certificates"),
            StepKind::Artifact(ArtifactCopy {
                artifact: Located::unplaced("app".into()),
                to: Located::unplaced("./".into()),
                options: CopyOptions::default(),
            }),
        ],
    );
    runtime.config.cmd = Some(Located::unplaced(CommandForm::Exec(vec!["./app".into()])));
    runtime.config.labels = vec![("org.title".into(), "href counter".into())];
    Project {
        context: ".".into(),
        args: vec![ArgDecl {
            name: Located::unplaced("GO_VERSION".into()),
            default: Some("1.16".into()),
        }],
        stages: vec![builder, runtime],
        artifacts: vec![Artifact {
            name: Located::unplaced("app".into()),
            stage: Located::unplaced("builder".into()),
            path: Located::unplaced("/go/src/app/app".into()),
            description: None,
        }],
        ..Project::default()
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn classic_project_has_no_syntax_line() {
    let out = export_dockerfile(
        &href_counter(),
        &names(&["builder", "runtime"]),
        &ExportOptions::default(),
    )
    .expect("exports");
    assert!(!out.needs_buildkit);
    assert_eq!(
        out.text,
        "ARG GO_VERSION=1.16\n\
         \n\
         FROM golang:${GO_VERSION} AS builder\n\
         ENV CGO_ENABLED=0\n\
         WORKDIR /go/src/app/\n\
         RUN go get -d -v golang.org/x/net/html\n\
         COPY app.go ./\n\
         RUN go build -a -installsuffix cgo -o app .\n\
         \n\
         FROM alpine:latest AS runtime\n\
         RUN apk --no-cache add ca-certificates\n\
         COPY --from=builder /go/src/app/app ./\n\
         CMD [\"./app\"]\n\
         LABEL org.title=\"href counter\"\n"
    );
}

#[test]
fn instructions_point_at_their_lines() {
    let out = export_dockerfile(
        &href_counter(),
        &names(&["builder", "runtime"]),
        &ExportOptions {
            header: true,
            ..ExportOptions::default()
        },
    )
    .expect("exports");
    let lines: Vec<&str> = out.text.lines().collect();
    assert_eq!(lines[0], HEADER_FIRST_LINE);
    for instruction in &out.instructions {
        let line = lines[instruction.line - 1];
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "{instruction:?} -> {line}"
        );
    }
    let copy = out
        .instructions
        .iter()
        .find(|i| i.stage == "runtime" && i.step == Some(1))
        .expect("the artifact copy is mapped");
    assert!(lines[copy.line - 1].starts_with("COPY --from=builder"));
    assert_eq!(out.instructions.len(), 12);
}

#[test]
fn buildkit_features_add_the_syntax_line_first() {
    let mut project = href_counter();
    project.stages[0].steps.push(Step {
        kind: run("set -e\necho done\n"),
        span: Span::default(),
    });
    let out = export_dockerfile(
        &project,
        &names(&["builder"]),
        &ExportOptions {
            header: true,
            ..ExportOptions::default()
        },
    )
    .expect("exports");
    assert!(out.needs_buildkit);
    assert!(
        out.text
            .starts_with(&format!("{SYNTAX_LINE}\n{HEADER_FIRST_LINE}\n"))
    );
    assert!(out.text.contains("RUN <<EOF\nset -e\necho done\nEOF\n"));
}

#[test]
fn only_requested_stages_are_emitted_and_stage_bases_are_names() {
    let mut project = href_counter();
    project.stages[1].from = Located::unplaced(Base::Stage("builder".into()));
    let out = export_dockerfile(
        &project,
        &names(&["builder", "runtime"]),
        &ExportOptions::default(),
    )
    .expect("exports");
    assert!(out.text.contains("FROM builder AS runtime\n"));
    let only = export_dockerfile(&project, &names(&["builder"]), &ExportOptions::default())
        .expect("exports");
    assert!(!only.text.contains("runtime"));
}

#[test]
fn unknown_stage_and_artifact_are_diagnostics() {
    let project = href_counter();
    let err = export_dockerfile(&project, &names(&["buidler"]), &ExportOptions::default())
        .expect_err("no such stage");
    assert_eq!(err.code, codes::UNKNOWN_STAGE);
    assert_eq!(err.help.as_deref(), Some("did you mean `builder`?"));
    let mut broken = href_counter();
    broken.artifacts.clear();
    let err = export_dockerfile(&broken, &names(&["runtime"]), &ExportOptions::default())
        .expect_err("no such artifact");
    assert_eq!(err.code, codes::UNKNOWN_ARTIFACT);
}

#[test]
fn image_config_in_order() {
    let mut project = href_counter();
    let config = &mut project.stages[1].config;
    config.entrypoint = Some(Located::unplaced(CommandForm::Shell("/entry.sh".into())));
    config.expose = vec![
        Located::unplaced("8080".into()),
        Located::unplaced("53/udp".into()),
    ];
    config.volumes = vec![Located::unplaced("/data".into())];
    config.healthcheck = Some(Located::unplaced(Health::Check(HealthcheckTable {
        cmd: CommandForm::Shell("wget -q localhost".into()),
        interval: Some("30s".into()),
        timeout: None,
        start_period: None,
        start_interval: None,
        retries: Some(3),
    })));
    config.stop_signal = Some(Located::unplaced("SIGTERM".into()));
    config.onbuild = vec![Located::unplaced("RUN echo child".into())];
    let out = export_dockerfile(
        &project,
        &names(&["builder", "runtime"]),
        &ExportOptions::default(),
    )
    .expect("exports");
    let tail: Vec<&str> = out
        .text
        .lines()
        .skip_while(|l| !l.starts_with("CMD"))
        .collect();
    assert_eq!(
        tail,
        [
            "CMD [\"./app\"]",
            "ENTRYPOINT /entry.sh",
            "EXPOSE 8080 53/udp",
            "LABEL org.title=\"href counter\"",
            "VOLUME /data",
            "HEALTHCHECK --interval=30s --retries=3 CMD wget -q localhost",
            "STOPSIGNAL SIGTERM",
            "ONBUILD RUN echo child",
        ]
    );
    assert!(!out.needs_buildkit);
}

#[test]
fn chmod_needs_buildkit_chown_does_not() {
    let mut project = href_counter();
    if let StepKind::Artifact(copy) = &mut project.stages[1].steps[1].kind {
        copy.options.chown = Some(Located::unplaced("app:app".into()));
    }
    let out = export_dockerfile(
        &project,
        &names(&["builder", "runtime"]),
        &ExportOptions::default(),
    )
    .expect("exports");
    assert!(!out.needs_buildkit);
    if let StepKind::Artifact(copy) = &mut project.stages[1].steps[1].kind {
        copy.options.chmod = Some(Located::unplaced("0755".into()));
    }
    let out = export_dockerfile(
        &project,
        &names(&["builder", "runtime"]),
        &ExportOptions::default(),
    )
    .expect("exports");
    assert!(out.needs_buildkit);
    assert!(
        out.text
            .contains("COPY --from=builder --chown=app:app --chmod=0755 /go/src/app/app ./")
    );
}

#[test]
fn stages_out_of_order_are_refused() {
    let mut project = href_counter();
    project.stages[1].from = Located::unplaced(Base::Stage("builder".into()));
    let err = export_dockerfile(
        &project,
        &names(&["runtime", "builder"]),
        &ExportOptions::default(),
    )
    .expect_err("runtime needs builder first");
    assert_eq!(err.code, codes::OUT_OF_ORDER);
    let err = export_dockerfile(&project, &names(&["runtime"]), &ExportOptions::default())
        .expect_err("builder is missing");
    assert_eq!(err.code, codes::OUT_OF_ORDER);
}

#[test]
fn images_named_like_stages_are_spelled_in_full() {
    let mut project = href_counter();
    project.stages[1].from = Located::unplaced(Base::Image("builder".into()));
    project.stages[1].steps.clear();
    let out = export_dockerfile(
        &project,
        &names(&["builder", "runtime"]),
        &ExportOptions::default(),
    )
    .expect("exports");
    assert!(
        out.text
            .contains("FROM docker.io/library/builder AS runtime\n"),
        "{}",
        out.text
    );
}
