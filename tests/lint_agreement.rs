//! Agreement with BuildKit's own build checks: on every case of the shared
//! corpus taken from BuildKit's check tests, `stages dockerfile lint` must
//! report the same rules on the same lines, as many times, as BuildKit's
//! tests expect (tests/lint/buildkit-expectations.tsv), for the rules both
//! implement. The real-world Dockerfiles have no BuildKit reading of their
//! checks in the corpus; their findings are counted and printed.

mod corpus;

use std::collections::BTreeMap;

use stages::engine::dockerignore::DockerIgnore;
use stages::lint::{Controls, IgnoredPaths, LintContext, lint_dockerfile, rule_name, rules};

/// Rules left out of the comparison, with why.
const NOT_COMPARED: &[(&str, &str)] = &[
    (
        "InvalidDefinitionDescription",
        "experimental in BuildKit, not implemented here",
    ),
    (
        "InvalidBaseImagePlatform",
        "needs the pulled base image's platform",
    ),
];

/// The `.dockerignore` a check test writes beside its Dockerfile (the
/// corpus keeps only the Dockerfile).
const DOCKERIGNORES: &[(&str, &str)] = &[("dockerfile_check_test__L131", "Dockerfile\n")];

/// The `BUILDKIT_DOCKERFILE_CHECK` build argument a check test sets (its
/// `FrontendAttrs`): it replaces the file's `# check=` directive.
const CHECK_BUILD_ARGS: &[(&str, &str)] = &[(
    "dockerfile_check_test__L480",
    "skip=ConsistentInstructionCasing;error=true",
)];

/// Cases whose build BuildKit fails on the lint findings themselves
/// (`error=true`, "lint violation found"): stages reports them as errors.
const FINDINGS_ARE_ERRORS: &[&str] =
    &["dockerfile_check_test__L460", "dockerfile_check_test__L480"];

/// Cases whose findings differ from BuildKit's, with why; every other
/// case must agree exactly.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn compared(rule: &str) -> bool {
    !NOT_COMPARED.iter().any(|(r, _)| *r == rule)
}

/// Expected findings per case, as sorted `Rule:line` words.
fn expectations() -> BTreeMap<String, Vec<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lint/buildkit-expectations.tsv");
    let text = std::fs::read_to_string(path).expect("expectations are readable");
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let mut found: Vec<String> = fields[2]
            .split(' ')
            .filter(|w| *w != "-")
            .filter(|w| compared(w.split(':').next().unwrap_or_default()))
            .map(str::to_owned)
            .collect();
        found.sort();
        out.insert(fields[0].to_owned(), found);
    }
    out
}

/// The case's Dockerfile as BuildKit's test runs it on Linux: the corpus
/// keeps the `%s` the test fills in with `fmt.Appendf`.
fn as_tested(case: &str, text: &str) -> String {
    let values: &[&str] = if case.ends_with("__L1026") {
        &["linux", "linux", "busybox"]
    } else {
        &[]
    };
    let mut out = String::new();
    let mut pieces = text.split("%s");
    out.push_str(pieces.next().unwrap_or_default());
    for (i, piece) in pieces.enumerate() {
        out.push_str(values.get(i).copied().unwrap_or("busybox"));
        out.push_str(piece);
    }
    out
}

fn context_of(case: &str) -> LintContext {
    let ignored = DOCKERIGNORES
        .iter()
        .find(|(c, _)| *c == case)
        .map(|(_, text)| {
            let ignore = DockerIgnore::parse(text).expect("patterns");
            IgnoredPaths::new(move |p| ignore.is_excluded(p))
        });
    let check_build_arg = CHECK_BUILD_ARGS
        .iter()
        .find(|(c, _)| *c == case)
        .map(|(_, value)| Controls::parse(value).expect("a check setting BuildKit reads"));
    LintContext {
        ignored,
        check_build_arg,
        ..LintContext::default()
    }
}

/// Our findings as sorted `Rule:line` words, and whether they are errors
/// (all of them, and at least one). A file that cannot be read gives the
/// findings BuildKit reports before its error.
fn ours(text: &str, cx: &LintContext) -> (Vec<String>, bool) {
    let found = match lint_dockerfile(text, cx, &Controls::default()) {
        Ok(found) => found,
        Err(unreadable) => unreadable.findings,
    };
    let errors = !found.is_empty() && found.iter().all(|d| d.is_error());
    let mut words: Vec<String> = found
        .iter()
        .filter_map(|d| {
            let rule = rule_name(d)?;
            let span = d.primary_span()?;
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            compared(rule).then(|| format!("{rule}:{line}"))
        })
        .collect();
    words.sort();
    (words, errors)
}

#[test]
fn buildkit_check_tests_agree() {
    let expected = expectations();
    let cases = corpus::cases("buildkit-integration");
    if cases.is_empty() {
        return;
    }
    let mut agree = 0;
    let mut differ = Vec::new();
    let mut findings = 0;
    for case in cases
        .iter()
        .filter(|c| c.name.starts_with("dockerfile_check_test__"))
    {
        let want = expected
            .get(&case.name)
            .unwrap_or_else(|| panic!("{}: no expectation recorded", case.name));
        findings += want.len();
        let (got, errors) = ours(&as_tested(&case.name, &case.text), &context_of(&case.name));
        let want_errors = FINDINGS_ARE_ERRORS.contains(&case.name.as_str());
        if got != *want {
            differ.push((
                case.name.clone(),
                format!("BuildKit {want:?}, stages {got:?}"),
            ));
        } else if want_errors && !errors {
            differ.push((
                case.name.clone(),
                "BuildKit fails the build on its findings, stages reports them as warnings".into(),
            ));
        } else {
            agree += 1;
        }
    }
    let total = agree + differ.len();
    eprintln!(
        "BuildKit check tests: {agree}/{total} cases agree ({findings} expected findings; not compared: {})",
        NOT_COMPARED
            .iter()
            .map(|(r, why)| format!("{r} ({why})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (case, why) in &differ {
        eprintln!("  {case}: {why}");
    }
    assert_eq!(
        total,
        expected.len(),
        "every recorded case is in the corpus"
    );
    let unexpected: Vec<String> = differ
        .iter()
        .filter(|(case, _)| !KNOWN_DIFFERENCES.iter().any(|(known, _)| known == case))
        .map(|(case, why)| format!("{case}: {why}"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{} cases differ:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}

#[test]
fn other_buildkit_cases_and_real_dockerfiles_are_linted_without_failing() {
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    let mut files = 0;
    for folder in ["real", "buildkit-integration"] {
        for case in corpus::cases(folder) {
            if case.name.starts_with("dockerfile_check_test__") {
                continue;
            }
            let Ok(found) =
                lint_dockerfile(&case.text, &LintContext::default(), &Controls::default())
            else {
                continue; // BuildKit refuses it too (the parser tests hold those)
            };
            files += 1;
            for d in &found {
                let rule = rule_name(d).expect("only lint codes");
                assert!(rules::by_name(rule).is_some_and(|r| r.on_dockerfile));
                *by_rule.entry(rule).or_default() += 1;
            }
        }
    }
    eprintln!("linted {files} corpus Dockerfiles: {by_rule:?}");
}
