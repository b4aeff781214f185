//! SARIF 2.1.0, the format GitHub code scanning reads: one run, the tool's
//! rules, and one result per finding with its region in the file.

use serde_json::{Value, json};

use super::rules;
use crate::diagnostics::{Diagnostic, Severity, SourceFile};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// One SARIF log of `diagnostics` found in `file`, pretty-printed.
pub fn render_sarif(file: &SourceFile, diagnostics: &[Diagnostic]) -> String {
    let catalog: Vec<Value> = rules::ALL
        .iter()
        .map(|r| {
            let mut rule = json!({
                "id": r.name,
                "name": r.name,
                "shortDescription": { "text": r.description },
                "defaultConfiguration": { "level": level(r.severity) },
            });
            if let Some(url) = r.url {
                rule["helpUri"] = json!(url);
            }
            rule
        })
        .collect();
    let results: Vec<Value> = diagnostics.iter().map(|d| result(file, d)).collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "stages",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": catalog,
            }},
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

fn result(file: &SourceFile, d: &Diagnostic) -> Value {
    let rule_id = rules::by_code(d.code).map_or(d.code, |r| r.name);
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let mut result = json!({
        "ruleId": rule_id,
        "level": level(d.severity),
        "message": { "text": message },
    });
    if let Some(index) = rules::ALL.iter().position(|r| r.code == d.code) {
        result["ruleIndex"] = json!(index);
    }
    let mut location = json!({
        "physicalLocation": { "artifactLocation": { "uri": uri(&file.name) } }
    });
    if let Some(span) = d.primary_span() {
        let (start_line, start_column) = file.line_column(span.start);
        let (end_line, end_column) = file.line_column(span.end.max(span.start));
        location["physicalLocation"]["region"] = json!({
            "startLine": start_line,
            "startColumn": start_column,
            "endLine": end_line,
            "endColumn": end_column.max(if end_line == start_line { start_column + 1 } else { 1 }),
        });
    }
    result["locations"] = json!([location]);
    result
}

/// A relative URI reference for a path: `/` separators, and the characters
/// a URI cannot hold percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
