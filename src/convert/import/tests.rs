//! Import of small Dockerfiles; the corpus round trip lives in `tests/roundtrip.rs`.

use super::*;
use crate::config::forms::CommandForm;
use crate::config::model::{Base, CopyFrom, MountType, StepKind};
use crate::dockerfile::parse;

fn import(text: &str, artifacts: bool) -> Imported {
    let file = parse(text).expect("parses");
    import_dockerfile(&file, &ImportOptions { artifacts }).expect("imports")
}

const MULTI: &str = "\
ARG GO_VERSION=1.16
# build the binary
FROM golang:${GO_VERSION} AS Builder
ENV CGO_ENABLED=0
WORKDIR /src
COPY . .
RUN go build -o /out/app .
RUN <<EOF
set -e
echo done
EOF

FROM alpine
LABEL a=b
COPY --from=0 /out/app /usr/local/bin/app
COPY --from=builder /src/x /src/y /y/
CMD [\"app\"]
CMD [\"app\", \"serve\"]

FROM builder
";

#[test]
fn stages_args_keys_steps_and_config() {
    let imported = import(MULTI, true);
    let p = &imported.project;
    assert_eq!(p.args.len(), 1);
    let names: Vec<&str> = p.stages.iter().map(|s| s.name.value.as_str()).collect();
    assert_eq!(names, ["builder", "stage-1", "stage-2"]);
    let builder = &p.stages[0];
    assert_eq!(builder.env.len(), 1);
    assert_eq!(
        builder.workdir.as_ref().map(|w| w.value.as_str()),
        Some("/src")
    );
    assert_eq!(builder.steps.len(), 3);
    match &builder.steps[2].kind {
        StepKind::Run(run) => assert_eq!(
            run.command.value,
            CommandForm::Shell("set -e\necho done\n".into())
        ),
        other => panic!("{other:?}"),
    }
    let runtime = &p.stages[1];
    assert_eq!(
        runtime.config.cmd.as_ref().map(|c| &c.value),
        Some(&CommandForm::Exec(vec!["app".into(), "serve".into()]))
    );
    assert_eq!(runtime.config.labels, [("a".to_owned(), "b".to_owned())]);
    assert!(matches!(&runtime.steps[0].kind, StepKind::Artifact(a) if a.artifact.value == "app"));
    assert!(
        matches!(&runtime.steps[1].kind, StepKind::Copy(c) if matches!(&c.from, Some(CopyFrom::Stage(s)) if s.value == "builder"))
    );
    assert_eq!(p.artifacts.len(), 1);
    assert_eq!(p.stages[2].from.value, Base::Stage("builder".into()));
    assert_eq!(
        imported.notes.stages.get("builder"),
        Some(&vec!["build the binary".to_owned()])
    );
}

#[test]
fn no_artifacts_keeps_plain_copies() {
    let p = import(MULTI, false).project;
    assert!(p.artifacts.is_empty());
    assert!(
        matches!(&p.stages[1].steps[0].kind, StepKind::Copy(c) if matches!(&c.from, Some(CopyFrom::Stage(s)) if s.value == "builder"))
    );
}

/// BuildKit reads a context source written absolute from the context's
/// root: it imports as the relative path, `/` alone as `.`.
#[test]
fn absolute_context_sources_import_relative() {
    let text = "FROM alpine\nCOPY /Dockerfile //go.mod /d/\nADD / /all/\nCOPY --from=busybox /bin/sh /sh\n";
    let p = import(text, true).project;
    let sources = |i: usize| match &p.stages[0].steps[i].kind {
        StepKind::Copy(c) => c
            .sources
            .iter()
            .map(|s| s.value.clone())
            .collect::<Vec<_>>(),
        StepKind::Add(a) => a.sources.iter().map(|s| s.value.clone()).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(sources(0), ["Dockerfile", "go.mod"]);
    assert_eq!(sources(1), ["."]);
    assert_eq!(
        sources(2),
        ["/bin/sh"],
        "a copy from an image keeps its path"
    );
}

#[test]
fn unexpressible_instructions_are_errors_with_spans() {
    let text = "FROM alpine\nADD <<EOF /x\nhi\nEOF\nRUN --mount=target=/x,typ=tmpfs true\n";
    let file = parse(text).expect("parses");
    let errors = import_dockerfile(&file, &ImportOptions::default()).expect_err("not expressible");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    for error in &errors {
        let span = error.primary_span().expect("a span");
        assert!(span.start > 0 && span.end <= text.len());
    }
}

#[test]
fn imported_projects_pass_the_checker_and_write_back() {
    let imported = import(MULTI, true);
    let text = crate::config::write::write_project(
        &imported.project,
        &imported.notes,
        crate::config::write::WriteOptions { schema: true },
    );
    let outcome = crate::check::check(&crate::diagnostics::SourceFile::new(
        "stages.toml",
        text.as_str(),
    ));
    assert!(!outcome.has_errors(), "{:#?}\n{text}", outcome.diagnostics);
    assert_eq!(outcome.project.as_ref(), Some(&imported.project), "{text}");
}

#[test]
fn copy_heredocs_import_and_no_backend_builds_them_yet() {
    let imported = import("FROM alpine\nCOPY <<EOF /etc/motd\nhello\nEOF\n", true);
    let stage = &imported.project.stages[0];
    match &stage.steps[0].kind {
        StepKind::Copy(copy) => {
            assert_eq!(copy.heredocs, [("EOF".to_owned(), "hello\n".to_owned())])
        }
        other => panic!("{other:?}"),
    }
    for backend in [
        crate::check::Backend::Native,
        crate::check::Backend::ClassicDockerfile,
    ] {
        let found = crate::check::unsupported_features(
            &imported.project,
            backend,
            std::slice::from_ref(&stage.name.value),
        );
        assert_eq!(found.len(), 1, "{backend:?}: {found:#?}");
    }
}

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("FROM alpine AS a".to_owned()),
            Just("FROM a".to_owned()),
            Just("FROM --platform=$X img".to_owned()),
            Just("ARG A=1 B".to_owned()),
            Just("ENV A=1 B=\"x y\"".to_owned()),
            Just("ENV A".to_owned()),
            Just("LABEL a=b".to_owned()),
            Just("LABEL v=$A".to_owned()),
            Just("CMD echo $A".to_owned()),
            Just("SHELL [\"/bin/sh\", \"-ec\"]".to_owned()),
            Just("COPY --from=0 /a /b".to_owned()),
            Just("COPY --from=9 a b".to_owned()),
            Just("COPY <<EOF /x\nhi\nEOF".to_owned()),
            Just("RUN <<EOF\necho\nEOF".to_owned()),
            Just("RUN --mount=type=cache,target=/c,ro=maybe x".to_owned()),
            Just("RUN --mount=\"type=bind,src=a,b\" x".to_owned()),
            Just("HEALTHCHECK --retries=x CMD true".to_owned()),
            Just("HEALTHCHECK".to_owned()),
            Just("ONBUILD".to_owned()),
            Just("SHELL sh".to_owned()),
            Just("CMD".to_owned()),
            Just("WORKDIR".to_owned()),
            Just("# comment".to_owned()),
            "[ -~]{0,20}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn import_and_export_never_panic(lines in prop::collection::vec(line(), 0..12)) {
            let text = lines.join("\n");
            if let Ok(file) = parse(&text)
                && let Ok(imported) = import_dockerfile_source(&file, Some(&text), &ImportOptions::default())
            {
                let names: Vec<String> = imported.project.stages.iter().map(|s| s.name.value.clone()).collect();
                let _ = crate::convert::export_dockerfile(&imported.project, &names, &crate::convert::ExportOptions::default());
            }
        }
    }
}

#[test]
fn onbuild_triggers_become_the_steps_they_run() {
    let names = vec!["build".to_owned(), "app".to_owned()];
    let run = trigger_step("RUN make install", &names, 1).expect("a RUN trigger");
    assert!(matches!(run, StepKind::Run(_)), "{run:?}");
    let copy = trigger_step("COPY --from=build /out /app", &names, 1).expect("a COPY trigger");
    match copy {
        StepKind::Copy(copy) => assert!(
            matches!(&copy.from, Some(CopyFrom::Stage(s)) if s.value == "build"),
            "{:?}",
            copy.from
        ),
        other => panic!("{other:?}"),
    }
    let cmd = trigger_step("CMD [\"serve\"]", &names, 1).expect_err("CMD is no step");
    assert!(cmd.message.contains("CMD"), "{}", cmd.message);
    assert!(trigger_step("", &names, 1).is_err());
}

#[test]
fn names_and_references_check_refuses_are_refused_on_their_lines() {
    for (text, code, line) in [
        (
            "FROM alpine\nARG a --build-arg b\n",
            crate::check::codes::INVALID_VARIABLE_NAME,
            2,
        ),
        (
            "ARG \"\"=x\nFROM alpine\n",
            crate::check::codes::INVALID_VARIABLE_NAME,
            1,
        ),
        (
            "FROM alpine\nFROM Alpine::3.20:: AS b\n",
            crate::check::codes::INVALID_IMAGE_REFERENCE,
            2,
        ),
        (
            "FROM alpine\nCOPY --from=Alpine::x a /b\n",
            crate::check::codes::INVALID_IMAGE_REFERENCE,
            2,
        ),
        (
            "FROM alpine\nFROM ${\u{3000}} AS b\n",
            crate::check::codes::INVALID_IMAGE_REFERENCE,
            2,
        ),
        (
            "FROM scratch AS base\nFROM scratch AS \u{a0}base2\n",
            crate::check::codes::INVALID_STAGE_NAME,
            2,
        ),
        (
            "FROM alpine\nRUN a\nCMD setsid \rcron; tmux -2\n",
            crate::check::codes::INVALID_LINE_VALUE,
            3,
        ),
        (
            "FROM alpine\nCOPY --chmod=\"7 7\" a /b\n",
            crate::check::codes::INVALID_FLAG_VALUE,
            2,
        ),
        (
            "FROM alpine AS build\nRUN a\nCOPY --from=build /out /out\n",
            crate::check::codes::CYCLE,
            3,
        ),
        (
            "FROM alpine\nRUN a\nCOPY ../Dockerfile /d2\n",
            crate::check::codes::SOURCE_OUTSIDE_CONTEXT,
            3,
        ),
        (
            "FROM alpine\nRUN a\nEXPOSE 80 80/bogus\n",
            crate::check::codes::INVALID_PORT,
            3,
        ),
        (
            "FROM alpine\nHEALTHCHECK --interval=often CMD true\n",
            crate::check::codes::INVALID_DURATION,
            2,
        ),
        (
            "FROM alpine\nLABEL r\u{a0}= i\n",
            crate::check::codes::INVALID_LINE_VALUE,
            1,
        ),
    ] {
        let file = parse(text).expect("parses");
        let errors = import_dockerfile(&file, &ImportOptions::default())
            .err()
            .unwrap_or_else(|| panic!("imported: {text}"));
        let found = errors
            .iter()
            .find(|e| e.code == code)
            .unwrap_or_else(|| panic!("{text}: {errors:?}"));
        let start = found.primary_span().map(|s| s.start).unwrap_or_default();
        assert_eq!(text[..start].matches('\n').count() + 1, line, "{text}");
    }
}

#[test]
fn a_stage_name_given_twice_is_refused() {
    let text = "FROM alpine AS build\nRUN a\nFROM alpine AS Build\nRUN b\n";
    let file = parse(text).expect("parses");
    let errors = import_dockerfile(&file, &ImportOptions::default()).expect_err("refused");
    let duplicate = errors
        .iter()
        .find(|e| e.code == codes::DUPLICATE)
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert_eq!(
        duplicate.primary_span().map(|s| s.start),
        Some(text.find("FROM alpine AS Build").unwrap_or_default())
    );
}

#[test]
fn expansions_nested_deeper_than_check_allows_are_refused() {
    let nested = format!("{}x{}", "${A:-".repeat(100), "}".repeat(100));
    for text in [
        format!("FROM alpine\nENV B={nested}\n"),
        format!("FROM alpine\nRUN <<EOT\necho {nested}\nEOT\n"),
        format!("FROM alpine\nCOPY <<EOT /x\n{nested}\nEOT\n"),
    ] {
        let file = parse(&text).expect("parses");
        let errors = import_dockerfile(&file, &ImportOptions::default()).expect_err("refused");
        assert!(
            errors.iter().any(|e| e.message.contains("nests 100 deep")),
            "{text}: {errors:?}"
        );
    }
}

/// The bound is on each value, as check measures each string: a key and
/// a value nesting 40 deep each are one LABEL line nesting 80 deep, but
/// two values stages.toml holds.
#[test]
fn nesting_is_measured_per_value_as_check_measures_it() {
    let open = "${".repeat(40);
    let imported = import(
        &format!("FROM alpine\nLABEL \"{open}\"=\"{open}\"\n"),
        false,
    );
    assert_eq!(imported.project.stages[0].config.labels.len(), 1);
}

#[test]
fn a_copy_with_here_documents_and_a_path_holding_whitespace_is_refused() {
    for text in [
        "FROM alpine\nCOPY <<\"EOF\" \u{a0}r\nhi\nEOF\n",
        "FROM alpine\nCOPY <<EOF a\u{3000}b\nhi\nEOF\n",
    ] {
        let file = parse(text).expect("parses");
        let errors = import_dockerfile(&file, &ImportOptions::default())
            .err()
            .unwrap_or_else(|| panic!("imported: {text:?}"));
        let refused = errors
            .iter()
            .find(|e| e.code == codes::UNSUPPORTED)
            .unwrap_or_else(|| panic!("{text:?}: {errors:?}"));
        assert!(
            refused.message.contains("whitespace"),
            "{}",
            refused.message
        );
        assert_eq!(
            refused.primary_span().map(|s| s.start),
            text.find("COPY"),
            "{text:?}"
        );
    }
}

#[test]
fn what_the_written_file_would_fail_in_check_or_export_is_refused_on_its_line() {
    for text in [
        "FROM alpine\nRUN --mount=type=cache echo hi\n",
        "FROM alpine\nRUN a\nRUN --network=none\u{3000} echo hi\n",
    ] {
        let file = parse(text).expect("parses");
        let errors = import_dockerfile(&file, &ImportOptions::default())
            .err()
            .unwrap_or_else(|| panic!("imported: {text:?}"));
        let last_line = text.trim_end().rfind('\n').map(|n| n + 1);
        assert!(
            errors
                .iter()
                .any(|e| e.primary_span().map(|s| s.start) == last_line),
            "{text:?}: {errors:?}"
        );
    }
}

#[test]
fn devices_and_unpack_import_and_export_as_written() {
    let text = "FROM busybox\nRUN --device=vendor1.com/device=foo,required \\\n    --device=vendor2.com/device=bar env\nADD --unpack=false t.tar.gz /\nADD --unpack a.tar /a/\n";
    let file = parse(text).expect("parses");
    let imported = import_dockerfile(&file, &ImportOptions::default()).expect("imports");
    let written = crate::config::write::write_project(
        &imported.project,
        &imported.notes,
        crate::config::write::WriteOptions::default(),
    );
    assert!(
        written
            .contains(r#"devices = ["vendor1.com/device=foo,required", "vendor2.com/device=bar"]"#),
        "{written}"
    );
    assert!(written.contains("unpack = false"), "{written}");
    assert!(written.contains("unpack = true"), "{written}");
    let outcome = crate::check::check(&crate::diagnostics::SourceFile::new(
        "stages.toml",
        written.as_str(),
    ));
    let project = outcome.project.expect("checks");
    assert_eq!(project, imported.project, "{written}");
    let exported = crate::convert::export_dockerfile(
        &project,
        &[project.stages[0].name.value.clone()],
        &crate::convert::ExportOptions::default(),
    )
    .expect("exports")
    .text;
    assert!(
        exported.contains(
            "RUN --device=vendor1.com/device=foo,required --device=vendor2.com/device=bar env"
        ),
        "{exported}"
    );
    assert!(
        exported.contains("ADD --unpack=false t.tar.gz /"),
        "{exported}"
    );
    assert!(
        exported.contains("ADD --unpack=true a.tar /a/"),
        "{exported}"
    );
}

/// BuildKit expands a mount's type with the variables in scope, so the
/// type stays a variable in stages.toml and each build expands it.
#[test]
fn a_variable_mount_type_imports_as_written() {
    let text =
        "FROM busybox\nARG MNT_TYPE=cache\nRUN --mount=type=$MNT_TYPE,id=$ID,target=/c true\n";
    let file = parse(text).expect("parses");
    let imported = import_dockerfile(&file, &ImportOptions::default()).expect("imports");
    let StepKind::Run(run) = &imported.project.stages[0].steps[0].kind else {
        panic!("not a run: {:?}", imported.project.stages[0].steps)
    };
    let mount = &run.mounts[0].value;
    assert_eq!(mount.kind, MountType::Variable("$MNT_TYPE".to_owned()));
    assert_eq!(mount.id.as_deref(), Some("$ID"));
}

#[test]
fn an_unknown_mount_option_is_refused_on_its_line() {
    let text = "FROM busybox\nRUN --mount=type=cache,target=/c,bogus=1 true\n";
    let file = parse(text).expect("parses");
    let errors = import_dockerfile(&file, &ImportOptions::default()).expect_err("refused");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].message.starts_with("the mount option `bogus`"),
        "{:?}",
        errors[0].message
    );
    let span = errors[0].primary_span().expect("a span");
    assert_eq!(
        text[span.start..span.end].trim_end(),
        "RUN --mount=type=cache,target=/c,bogus=1 true"
    );
}

/// `RUN <<EOF` alone is the script its body holds, even when the body's
/// first line opens a heredoc of its own (export wraps such a script in a
/// new heredoc); only a body that is a closed heredoc text (which export
/// writes as it is) keeps the instruction text.
#[test]
fn a_script_whose_first_line_opens_a_heredoc_is_the_script() {
    let command = |text: &str| {
        let imported = import(text, false);
        match &imported.project.stages[0].steps[0].kind {
            StepKind::Run(run) => run.command.value.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        command("FROM a\nRUN <<EOF\n<<E\nEOF\n"),
        CommandForm::Shell("<<E\n".into())
    );
    assert_eq!(
        command("FROM a\nRUN <<EOF\ncat <<X\nx\nX\nEOF\n"),
        CommandForm::Shell("<<EOF\ncat <<X\nx\nX\nEOF".into())
    );
}

/// BuildKit trims a Unicode space off the front of a command, so a heredoc
/// command can start with `--`; export would write it where a Dockerfile
/// reads it as a flag. Import refuses it on the RUN line.
#[test]
fn a_heredoc_command_starting_with_two_dashes_is_refused_on_its_line() {
    for text in [
        "FROM alpine\nRUN --mount=target=/a \u{a0}--mount=target=/b <<EOT\nEOT\n",
        "FROM alpine\nRUN --mount=target=/a\\\n \u{2003}--mount=target=/b <<EOT\nEOT\n",
    ] {
        let file = parse(text).expect("parses");
        let errors = import_dockerfile(&file, &ImportOptions::default())
            .err()
            .unwrap_or_else(|| panic!("imported: {text:?}"));
        let run_line = text.find("RUN");
        assert!(
            errors.iter().any(
                |e| e.primary_span().map(|s| s.start) == run_line && e.message.contains("`--`")
            ),
            "{text:?}: {errors:?}"
        );
    }
}
