//! Every lint rule has a file that triggers it and a near miss that does
//! not, in tests/lint/dockerfile/ (`<Rule>.Dockerfile`, `<Rule>.ok.Dockerfile`)
//! and tests/lint/toml/ (`<Rule>.toml`, `<Rule>.ok.toml`) for the rules that
//! apply there. The rendered report of each trigger is a snapshot.

use std::path::{Path, PathBuf};

use stages::check::check;
use stages::diagnostics::{Diagnostic, Severity, SourceFile, Style, render_human};
use stages::engine::dockerignore::DockerIgnore;
use stages::lint::{Controls, IgnoredPaths, LintContext, lint_dockerfile, lint_project, rules};

fn dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lint")
        .join(kind)
}

fn files(kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir(kind))
        .expect("test folder is readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// (rule name, whether it is the near miss) of a test file.
fn rule_of(path: &Path) -> (String, bool) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let rule = name.split('.').next().unwrap_or_default().to_owned();
    (rule, name.contains(".ok."))
}

/// What the Engine and the context would tell for the rules that need
/// them: `arm64v8/busybox` is an arm64 image on an amd64 Engine, and the
/// `.dockerignore` excludes `secret.txt` and `build/`.
fn context_for(rule: &str) -> LintContext {
    let mut cx = LintContext {
        // A lock that pins nothing: every base named by tag is unpinned.
        locked_images: (rule == rules::UNPINNED_BASE_IMAGE.name).then(Vec::new),
        ..LintContext::default()
    };
    if rule == rules::INVALID_BASE_IMAGE_PLATFORM.name {
        cx.base_platforms = [
            ("arm64v8/busybox".to_owned(), "linux/arm64/v8".to_owned()),
            ("busybox".to_owned(), "linux/amd64".to_owned()),
        ]
        .into();
        cx.engine_platform = Some("linux/amd64".to_owned());
    }
    if rule == rules::COPY_IGNORED_FILE.name {
        let ignore = DockerIgnore::parse("secret.txt\nbuild\n").expect("patterns");
        cx.ignored = Some(IgnoredPaths::new(move |p| ignore.is_excluded(p)));
    }
    cx
}

fn lint_file(kind: &str, path: &Path) -> (SourceFile, Vec<Diagnostic>) {
    let text = std::fs::read_to_string(path).expect("test file is readable");
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let file = SourceFile::new(name, text.as_str());
    let (rule, _) = rule_of(path);
    let cx = context_for(&rule);
    let diagnostics = if kind == "dockerfile" {
        lint_dockerfile(&text, &cx, &Controls::default())
            .unwrap_or_else(|e| panic!("{name} does not parse: {e:?}"))
    } else {
        let outcome = check(&file);
        let project = outcome
            .project
            .unwrap_or_else(|| panic!("{name} does not check: {:?}", outcome.diagnostics));
        lint_project(&project, &cx, &Controls::default())
    };
    (file, diagnostics)
}

fn triggers_and_near_misses(kind: &str) {
    for path in files(kind) {
        let (rule, near_miss) = rule_of(&path);
        let rule =
            rules::by_name(&rule).unwrap_or_else(|| panic!("{}: no such rule", path.display()));
        let (file, diagnostics) = lint_file(kind, &path);
        let hits = diagnostics.iter().filter(|d| d.code == rule.code).count();
        if near_miss {
            assert_eq!(hits, 0, "{}: {:?}", file.name, diagnostics);
            continue;
        }
        assert!(hits > 0, "{}: {:?}", file.name, diagnostics);
        for d in &diagnostics {
            assert_eq!(d.severity, Severity::Warning, "{}", file.name);
            assert!(
                d.help.is_some() && !d.labels.is_empty(),
                "{}: {d:?}",
                file.name
            );
        }
        let rendered = render_human(&file, &diagnostics, Style::Plain);
        insta::with_settings!({
            snapshot_path => format!("lint/snapshots/{kind}"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(rule.name, rendered);
        });
    }
}

#[test]
fn every_rule_has_a_trigger_and_a_near_miss_where_it_applies() {
    for (kind, ext, applies) in [
        (
            "dockerfile",
            "Dockerfile",
            (|r: &rules::Rule| r.on_dockerfile) as fn(&rules::Rule) -> bool,
        ),
        ("toml", "toml", |r: &rules::Rule| r.on_toml),
    ] {
        for rule in rules::ALL.iter().filter(|r| applies(r)) {
            for name in [
                format!("{}.{ext}", rule.name),
                format!("{}.ok.{ext}", rule.name),
            ] {
                assert!(
                    dir(kind).join(&name).is_file(),
                    "tests/lint/{kind}/{name} is missing"
                );
            }
        }
    }
}

#[test]
fn dockerfile_rules() {
    triggers_and_near_misses("dockerfile");
}

#[test]
fn stages_toml_rules() {
    triggers_and_near_misses("toml");
}

#[test]
fn a_check_directive_skips_rules_and_makes_findings_errors() {
    let text = "# check=skip=StageNameCasing;error=true\nFROM alpine:3.20 AS Build\nCMD echo hi\n";
    let found = lint_dockerfile(text, &LintContext::default(), &Controls::default()).unwrap();
    let names: Vec<&str> = found.iter().filter_map(stages::lint::rule_name).collect();
    assert_eq!(names, ["JSONArgsRecommended"]);
    assert!(found.iter().all(Diagnostic::is_error));
    let skipped = Controls::parse("skip=all").unwrap();
    assert!(
        lint_dockerfile(text, &LintContext::default(), &skipped)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_check_comment_before_an_instruction_skips_only_there() {
    let text = "FROM alpine:3.20\n# check=skip=LegacyKeyValueFormat\nENV A 1\nENV B 2\n";
    let found = lint_dockerfile(text, &LintContext::default(), &Controls::default()).unwrap();
    let lines: Vec<usize> = found
        .iter()
        .filter_map(|d| d.primary_span())
        .map(|s| text[..s.start].matches('\n').count() + 1)
        .collect();
    assert_eq!(lines, [4]);
}

#[test]
fn lint_settings_in_stages_toml_skip_rules() {
    let text = "[lint]\nskip = [\"JSONArgsRecommended\"]\nerror = true\n\n[stages.app]\nfrom = \"alpine:3.20\"\ncmd = \"echo hi\"\nworkdir = \"app\"\n";
    let outcome = check(&SourceFile::new("stages.toml", text));
    let project = outcome.project.expect("checks");
    assert_eq!(project.lint.skip.len(), 1);
    let controls = stages::lint::controls::project_controls(&project);
    let found = lint_project(&project, &LintContext::default(), &controls);
    let names: Vec<&str> = found.iter().filter_map(stages::lint::rule_name).collect();
    assert_eq!(names, ["WorkdirRelativePath"]);
    assert!(found[0].is_error());
}
