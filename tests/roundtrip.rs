//! Round trips over the shared corpus (`../shared/corpus`, or
//! `STAGES_CORPUS`) and over stages.toml configs:
//! - `export(import(d))` reads, stage for stage, like `d` (see
//!   `reading::NORMALISATIONS` for what is forgiven);
//! - `import(export(c))` equals `c` after `model::normalise`.

mod corpus;
#[path = "roundtrip/generate.rs"]
mod generate;
#[path = "roundtrip/model.rs"]
mod model;
#[path = "roundtrip/reading.rs"]
mod reading;

use stages::check::check;
use stages::config::model::Project;
use stages::config::write::{WriteOptions, write_project};
use stages::convert::{ExportOptions, ImportOptions, export_dockerfile, import_dockerfile_source};
use stages::diagnostics::SourceFile;
use stages::dockerfile::parse;

/// Corpus cases that cannot round-trip, each with the reason.
const ALLOWED_FAILURES: &[(&str, &str)] = &[
    (
        "buildkit-integration/dockerfile2llb_convert_test__L248",
        "a stage copies from itself: BuildKit refuses to build it (`circular dependency detected on stage: stage0`), and import refuses the cycle",
    ),
    (
        "buildkit-integration/dockerfile2llb_convert_test__L255",
        "stages copy from each other in a cycle: BuildKit refuses to build it (`circular dependency detected on stage: stage0`), and import refuses the cycle",
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L136",
        "a misspelled mount option (`typ`): BuildKit refuses to build it (`unexpected key 'typ' in 'typ=tmpfs'`)",
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L140",
        "a misspelled mount option (`typ`): BuildKit refuses to build it (`unexpected key 'typ' in 'typ=tmpfs'`)",
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L162",
        "an unknown mount type (`tmp`): BuildKit refuses to build it (`unsupported mount type \"tmp\"`)",
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L166",
        "an unknown mount type (`tmp`): BuildKit refuses to build it (`unsupported mount type \"tmp\"`)",
    ),
    (
        "buildkit-integration/dockerfile_multistage_test__L157",
        OUTSIDE,
    ),
    (
        "buildkit-integration/dockerfile_check_test__L1445",
        INVALID_DEFAULT_BASE,
    ),
    (
        "buildkit-integration/dockerfile_check_test__L1449",
        INVALID_DEFAULT_BASE,
    ),
    (
        "buildkit-integration/dockerfile_multistage_test__L166",
        OUTSIDE,
    ),
];
const INVALID_DEFAULT_BASE: &str = "the base's default expansion ends in an empty tag (`busybox:`): BuildKit refuses to build it (`failed to parse stage name \"busybox:\": invalid reference format`), and import refuses the reference";
const OUTSIDE: &str = "a COPY --from a stage written after it, which BuildKit resolves: import takes it, but export writes stages in dependency order, so the files differ in stage order";

/// BuildKit's tests fill placeholders such as `FROM %s` in before
/// building; as written, the placeholder is no image reference, and
/// import refuses it.
fn is_placeholder_refusal(why: &str) -> bool {
    why.contains("is not a valid image reference") && why.contains("`%")
}

/// Dockerfile → stages.toml text → checked project → Dockerfile, compared by
/// reading. Import gets the source text, as `stages import` does, so every
/// comment line goes into the TOML too.
fn dockerfile_round_trip(text: &str) -> Result<(), String> {
    let original = parse(text).map_err(|d| format!("parse: {}", d.message))?;
    let imported = import_dockerfile_source(&original, Some(text), &ImportOptions::default())
        .map_err(|errors| {
            let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
            format!("import: {}", messages.join("; "))
        })?;
    let toml = write_project(
        &imported.project,
        &imported.notes,
        WriteOptions { schema: true },
    );
    let outcome = check(&SourceFile::new("stages.toml", toml.as_str()));
    let project = outcome.project.ok_or_else(|| {
        let messages: Vec<String> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        format!("check: {}", messages.join("; "))
    })?;
    let exported = export_all(&project)?;
    let again = parse(&exported).map_err(|d| format!("re-parse: {}\n{exported}", d.message))?;
    let before = reading::read(&original)?;
    let mut after = reading::read(&again)?;
    // Unnamed stages are named on import; only given names are compared.
    for (b, a) in before.stages.iter().zip(&mut after.stages) {
        if b.name.is_none() {
            a.name = None;
        }
    }
    if before == after {
        return Ok(());
    }
    Err(first_difference(&before, &after))
}

/// Every stage, in file order (a Dockerfile's order is a dependency order).
fn export_all(project: &Project) -> Result<String, String> {
    let names: Vec<String> = project
        .stages
        .iter()
        .map(|s| s.name.value.clone())
        .collect();
    export_dockerfile(
        project,
        &names,
        &ExportOptions {
            header: true,
            ..ExportOptions::default()
        },
    )
    .map(|e| e.text)
    .map_err(|d| format!("export: {}", d.message))
}

fn first_difference(before: &reading::Reading, after: &reading::Reading) -> String {
    if before.meta_args != after.meta_args {
        return format!("meta args: {:?} vs {:?}", before.meta_args, after.meta_args);
    }
    if before.stages.len() != after.stages.len() {
        return format!("{} stages vs {}", before.stages.len(), after.stages.len());
    }
    for (i, (b, a)) in before.stages.iter().zip(&after.stages).enumerate() {
        if b.name.is_some() && b.name != a.name || b.base != a.base || b.platform != a.platform {
            return format!(
                "stage {i} FROM: {:?} {:?} {:?} vs {:?} {:?} {:?}",
                b.base, b.platform, b.name, a.base, a.platform, a.name
            );
        }
        if b.config != a.config {
            return format!("stage {i} config: {:?}\n vs {:?}", b.config, a.config);
        }
        for (j, (x, y)) in b.steps.iter().zip(&a.steps).enumerate() {
            if x != y {
                return format!("stage {i} step {j}: {x:?}\n vs {y:?}");
            }
        }
        if b.steps.len() != a.steps.len() {
            return format!("stage {i}: {} steps vs {}", b.steps.len(), a.steps.len());
        }
    }
    "differs".into()
}

/// The cases BuildKit accepts at the stage level.
fn accepted(folder: &str) -> Vec<corpus::Case> {
    corpus::cases(folder)
        .into_iter()
        .filter(|c| {
            c.json()
                .get("stages_error")
                .is_none_or(serde_json::Value::is_null)
        })
        .collect()
}

#[test]
fn corpus_dockerfiles_survive_import_then_export() {
    if corpus::root().is_none() {
        return;
    }
    let mut failures = Vec::new();
    let mut stale_allowances = Vec::new();
    for folder in ["real", "buildkit-integration"] {
        let cases = accepted(folder);
        let mut passed = 0;
        let mut placeholders = 0;
        for case in &cases {
            let name = format!("{folder}/{}", case.name);
            let allowed = ALLOWED_FAILURES.iter().any(|(c, _)| *c == name);
            match dockerfile_round_trip(&case.text) {
                Ok(()) if allowed => stale_allowances.push(name),
                Ok(()) => passed += 1,
                Err(_) if allowed => {}
                Err(why) if is_placeholder_refusal(&why) => placeholders += 1,
                Err(why) => failures.push(format!("{name}: {why}")),
            }
        }
        eprintln!(
            "round trip {folder}: {passed} of {} pass; {placeholders} refused for a `%s` placeholder",
            cases.len()
        );
    }
    assert!(
        stale_allowances.is_empty(),
        "allow-listed cases now pass; remove them: {stale_allowances:#?}"
    );
    assert!(
        failures.is_empty(),
        "{} round trips fail (forgiven: {}):\n{}",
        failures.len(),
        reading::NORMALISATIONS,
        failures.join("\n\n")
    );
}

#[test]
fn examples_survive_export_then_import() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut count = 0;
    for entry in std::fs::read_dir(&root).expect("examples/").flatten() {
        let path = entry.path().join("stages.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let project = check(&SourceFile::new(path.display().to_string(), text.as_str()))
            .project
            .unwrap_or_else(|| panic!("{} has errors", path.display()));
        model::assert_survives(&project, &path.display().to_string());
        count += 1;
    }
    assert!(count > 0, "no examples found");
}

/// A script whose body holds `EOF` is written under `<<EOF_1` (or a later
/// free delimiter) and must import as the same script, not as the
/// heredoc instruction text.
#[test]
fn scripts_holding_the_heredoc_delimiter_survive_export_then_import() {
    for script in [" \nEOF", "echo EOF\necho EOF_1\n", "set -e\necho EOF\n"] {
        let text = format!("[stages.n]\nfrom = \"alpine\"\nsteps = [{{ run = {script:?} }}]\n");
        let project = check(&SourceFile::new("stages.toml", text.as_str()))
            .project
            .unwrap_or_else(|| panic!("{text} has errors"));
        model::assert_survives(&project, &format!("{script:?}"));
    }
}

/// The TOML `stages import` writes for `text`.
fn imported_toml(text: &str) -> String {
    let parsed = parse(text).unwrap_or_else(|d| panic!("parse: {}", d.message));
    let imported = import_dockerfile_source(&parsed, Some(text), &ImportOptions::default())
        .unwrap_or_else(|e| {
            panic!(
                "import: {:?}",
                e.iter().map(|d| &d.message).collect::<Vec<_>>()
            )
        });
    write_project(
        &imported.project,
        &imported.notes,
        WriteOptions { schema: false },
    )
}

/// Files BuildKit builds that import once refused: each imports, checks,
/// and exports back to the same reading.
#[test]
fn what_buildkit_builds_imports_and_round_trips() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "a global ARG declared in turn",
            "ARG TARGETPLATFORM\nARG DELVE=${TARGETPLATFORM#linux/amd64}\nARG DELVE=${DELVE:+\"unsupported\"}\nARG DELVE=${DELVE:-\"supported\"}\nFROM alpine\nARG DELVE\nRUN echo $DELVE\n",
            &["DELVE = [\"${TARGETPLATFORM#linux/amd64}\", "],
        ),
        (
            "global ARGs redeclared in between others",
            "ARG FOO=123\nARG ABC=abc\nARG FOO=${FOO}${ABC}\nARG BAR=${FOO}456\nARG FOO=${FOO}456${BAR}\nFROM scratch\nARG FOO\n",
            &[
                "args = [\n  { FOO = \"123\", ABC = \"abc\" },\n  { FOO = \"${FOO}${ABC}\", BAR = \"${FOO}456\" },\n  { FOO = \"${FOO}456${BAR}\" },\n]",
            ],
        ),
        (
            "a LABEL reading a variable, then an ENV",
            "FROM alpine\nARG VERSION=1.0\nLABEL org.opencontainers.image.version=${VERSION}\nENV PATH=/opt/bin:$PATH\nRUN true\n",
            &["\"org.opencontainers.image.version\" = \"${VERSION}\""],
        ),
        (
            "MAINTAINER",
            "FROM alpine\nMAINTAINER Jane Doe <jane@example.com>\nRUN true\n",
            &["maintainer = \"Jane Doe <jane@example.com>\""],
        ),
        (
            "blanks between `<<` and the heredoc word",
            "FROM alpine\nRUN <<  EOF\necho hi\nEOF\nRUN true\n",
            &[],
        ),
        (
            "a path quoted only for the Dockerfile",
            "FROM alpine\nENV APP=/app\nCOPY config \"$APP\"/qdrant\nCOPY 'raw$' \"/it's\"\n",
            &[
                "to = \"$APP/qdrant\"",
                "copy = 'raw\\$'",
                "to = \"\"\"\"/it's\"\"\"\"",
            ],
        ),
        (
            "a RUN laid out over continuation lines",
            "FROM alpine\nRUN --mount=type=cache,target=/var/cache/apk \\\n    apk update && \\\n    # tools\n    apk add curl && \\\n    case x in \\\n      x) echo x ;; \\\n    esac\n",
            &[
                "apk update && \\\n    # tools\n    apk add curl && \\\n    case x in \\\n      x) echo x ;; \\\n    esac",
            ],
        ),
    ];
    for (what, dockerfile, expected) in cases {
        if let Err(why) = dockerfile_round_trip(dockerfile) {
            panic!("{what}: {why}\n{dockerfile}");
        }
        let toml = imported_toml(dockerfile);
        for part in *expected {
            assert!(toml.contains(part), "{what}: no {part:?} in\n{toml}");
        }
    }
}

mod generated {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 200,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        #[test]
        fn configs_survive_export_then_import(project in super::generate::project()) {
            super::model::assert_survives(&project, "generated");
        }
    }
}
