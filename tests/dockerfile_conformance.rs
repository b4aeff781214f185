//! Conformance of the Dockerfile layer against BuildKit's own readings of
//! the shared corpus (`../shared/corpus`, or `STAGES_CORPUS`).

mod corpus;

use corpus::{Case, Report};
use stages::dockerfile;

#[test]
fn buildkit_parser_dumps_match() {
    let mut report = Report::new("buildkit-parser dump");
    for case in corpus::cases("buildkit-parser") {
        let expected = case.result();
        match dockerfile::parse(&case.text) {
            Ok(file) => report.check(&case.name, &dockerfile::dump(&file), &expected),
            Err(d) => report.fail(&case.name, format!("rejected: {}", d.message)),
        }
    }
    report.assert_count(33);
}

#[test]
fn buildkit_integration_dumps_match() {
    let mut report = Report::new("buildkit-integration dump");
    for case in corpus::cases("buildkit-integration") {
        dump_case(&mut report, &case);
    }
    report.assert_count(415);
}

#[test]
fn real_dumps_match() {
    let mut report = Report::new("real dump");
    for case in corpus::cases("real") {
        dump_case(&mut report, &case);
    }
    report.assert_count(48);
}

fn dump_case(report: &mut Report, case: &Case) {
    let expected = case.result();
    match dockerfile::parse(&case.text) {
        Ok(file) => report.check(&case.name, &dockerfile::dump(&file), &expected),
        Err(d) => report.fail(&case.name, format!("rejected: {}", d.message)),
    }
}

#[test]
fn buildkit_parser_negatives_are_rejected() {
    let mut report = Report::new("buildkit-parser-negative");
    for case in corpus::cases("buildkit-parser-negative") {
        match dockerfile::parse(&case.text) {
            Ok(_) => report.fail(&case.name, "accepted".to_string()),
            Err(d) => {
                let want = case.json()["parse_error"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                match d.primary_span() {
                    Some(span)
                        if points_at_offender(&case.text, span.start, &want)
                            && d.message == want =>
                    {
                        report.pass()
                    }
                    Some(_) => report.fail(
                        &case.name,
                        format!("{:?}, BuildKit says {want:?}", d.message),
                    ),
                    None => report.fail(&case.name, format!("no line in: {}", d.message)),
                }
            }
        }
    }
    report.assert_count(4);
}

/// Whether a rejection at byte `start` points at the line that causes it:
/// the instruction the message names, the JSON array it complains of, or
/// (for a file with no instructions) any place in the file.
fn points_at_offender(text: &str, start: usize, message: &str) -> bool {
    if start > text.len() || !text.is_char_boundary(start) {
        return false;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim_start();
    let keyword = message.split_whitespace().next().unwrap_or("");
    if message.contains("JSON array") {
        line.contains('[')
    } else if keyword.chars().all(|c| c.is_ascii_uppercase()) && !keyword.is_empty() {
        line.to_ascii_uppercase().starts_with(keyword)
    } else {
        true
    }
}

/// What `result` leaves out: keyword as written, flags, JSON form, heredocs,
/// lines, original text, comments, directives, escape token.
#[test]
fn syntax_details_match_ast_json() {
    let mut report = Report::new("ast.json details");
    let mut total = 0;
    for folder in ["buildkit-parser", "buildkit-integration", "real"] {
        for case in corpus::cases(folder) {
            total += 1;
            let json = case.json();
            match dockerfile::parse(&case.text) {
                Ok(file) => match corpus::ast_mismatch(&file, &json) {
                    None => report.pass(),
                    Some(why) => report.fail(&case.name, why),
                },
                Err(d) => report.fail(&case.name, format!("rejected: {}", d.message)),
            }
        }
    }
    report.assert_count(total.max(496));
}

/// Stage structure: names, bases, platforms, commands, `COPY --from`
/// targets, RUN flags, meta-ARGs; rejected exactly where BuildKit's second
/// layer rejects.
#[test]
fn stages_match_buildkit() {
    let mut report = Report::new("stages");
    let mut total = 0;
    for folder in ["buildkit-parser", "buildkit-integration", "real"] {
        for case in corpus::cases(folder) {
            total += 1;
            let json = case.json();
            match corpus::stages_mismatch(&case.text, &json) {
                None => report.pass(),
                Some(why) => report.fail(&case.name, why),
            }
        }
    }
    report.assert_count(total.max(496));
}

/// Printing and reading again changes nothing: same dump, same heredocs
/// and flags, same typed program; printing is idempotent. Files the typed
/// layer rejects have no program to print; each must be one that BuildKit
/// rejects too (or a stage cycle, which we refuse at this layer), and they
/// are counted, not skipped silently.
#[test]
fn printer_round_trips() {
    let mut report = Report::new("printer round trip");
    let mut total = 0;
    let mut rejected = Vec::new();
    for folder in ["buildkit-parser", "buildkit-integration", "real"] {
        for case in corpus::cases(folder) {
            match dockerfile::read(&case.text) {
                Ok(_) => {}
                Err(diagnostic) => {
                    let buildkit_rejects = case.json().get("stages_error").is_some();
                    let cycle = diagnostic.code.ends_with("circular-dependency");
                    assert!(
                        buildkit_rejects || cycle,
                        "{}: rejected ({}) though BuildKit accepts it",
                        case.name,
                        diagnostic.code
                    );
                    rejected.push(case.name.clone());
                    continue;
                }
            }
            total += 1;
            match corpus::round_trip_mismatch(&case.text) {
                None => report.pass(),
                Some(why) => report.fail(&case.name, why),
            }
        }
    }
    eprintln!(
        "printer round trip: {} files rejected before printing (BuildKit rejects them, or a stage cycle)",
        rejected.len()
    );
    report.assert_count(total.max(450));
}
