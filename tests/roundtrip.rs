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
        "real/moby__buildkit__hack__dockerfiles__archutil.Dockerfile",
        REDECLARED,
    ),
    ("real/moby__moby__Dockerfile", REDECLARED),
    (
        "buildkit-integration/dockerfile_outline_test__L323",
        REDECLARED,
    ),
    (
        "buildkit-integration/dockerfile2llb_convert_test__L248",
        "a stage copies from itself: the checker rejects the cycle (BuildKit does too, when building)",
    ),
    (
        "buildkit-integration/dockerfile2llb_convert_test__L255",
        "stages copy from each other in a cycle: the checker rejects it (BuildKit does too, when building)",
    ),
    (
        "buildkit-integration/dockerfile_add_test__L195",
        "ADD --unpack has no stages.toml form",
    ),
    (
        "buildkit-integration/dockerfile_rundevice_test__L44",
        "RUN --device has no stages.toml form",
    ),
    (
        "buildkit-integration/dockerfile_check_test__L884",
        "MAINTAINER (deprecated) has no stages.toml form",
    ),
    (
        "buildkit-integration/dockerfile_check_test__L922",
        "MAINTAINER (deprecated) has no stages.toml form",
    ),
    (
        "buildkit-integration/dockerfile_check_test__L778",
        "a stage named `scratch`, which stages.toml reserves for the empty image",
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L136",
        "a misspelled mount option (`typ`) that BuildKit reports when building",
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L140",
        "a misspelled mount option (`typ`) that BuildKit reports when building",
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L162",
        "an unknown mount type (`tmp`) that BuildKit reports when building",
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L166",
        "an unknown mount type (`tmp`) that BuildKit reports when building",
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L379",
        VARIABLE_MOUNT,
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L416",
        VARIABLE_MOUNT,
    ),
    (
        "buildkit-integration/dockerfile_mount_test__L427",
        VARIABLE_MOUNT,
    ),
    (
        "buildkit-integration/dockerfile_check_test__L1584",
        "EXPOSE with host addresses and port mappings, which the checker rejects",
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
const INVALID_DEFAULT_BASE: &str = "the base's default expansion ends in an empty tag (`busybox:`): a case of BuildKit's InvalidDefaultArgInFrom check, which check and import refuse";
const REDECLARED: &str =
    "a global ARG redeclared to compute its value step by step; `[args]` holds one entry per name";
const VARIABLE_MOUNT: &str = "a mount type given by a variable; stages.toml names the type";
const OUTSIDE: &str =
    "an absolute COPY source (`/Dockerfile`): the checker wants context paths relative";

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
