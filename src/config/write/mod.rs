//! Writing a checked `Project` back as `stages.toml` text: stable layout
//! (`[project]`, `[args]`, `[stages.*]` in order with one step per line,
//! `[artifacts.*]`, `[targets.*]`), comments where the caller has them.
//! Checking the text gives back an equal `Project`.
//!
//! Knows nothing of Dockerfiles: import hands its comments over as `Notes`.

mod encode;
mod stage;

use std::collections::HashMap;
use std::fmt::Write as _;

use super::model::{ArgDecl, Project, TargetKind};

/// The schema comment written at the top: the path `stages schema -o
/// schema/stages.schema.json` writes to, relative to the file. A URL would
/// send editors to the network; a path the user can generate does not.
pub const SCHEMA_LINE: &str = "#:schema ./schema/stages.schema.json";

/// Comments to place in the output, as lines without the leading `# `.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// At the top, after the schema line.
    pub header: Vec<String>,
    /// Before `[args]`.
    pub args: Vec<String>,
    /// Before `[stages.NAME]`, by stage name.
    pub stages: HashMap<String, Vec<String>>,
    /// Before a stage key (`from`, `env`, `cmd`…), by stage name and key.
    pub keys: HashMap<(String, String), Vec<String>>,
    /// Before a step, by stage name and step index.
    pub steps: HashMap<(String, usize), Vec<String>>,
    /// After a stage's last step, inside `steps = [ … ]`.
    pub trailing: HashMap<String, Vec<String>>,
}

/// How the text starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// Write `SCHEMA_LINE` first.
    pub schema: bool,
}

/// The project as `stages.toml` text.
pub fn write_project(project: &Project, notes: &Notes, options: WriteOptions) -> String {
    let mut out = String::new();
    if options.schema {
        out.push_str(SCHEMA_LINE);
        out.push('\n');
    }
    comments(&mut out, &notes.header, "");
    let table = args_table(&project.args);
    if table.is_none() {
        // Top-level keys come before the first table header.
        section_break(&mut out);
        comments(&mut out, &notes.args, "");
        out.push_str("args = [\n");
        for group in args_groups(&project.args) {
            let _ = writeln!(out, "  {},", arg_table(group));
        }
        out.push_str("]\n");
    }
    write_settings(&mut out, project);
    if let Some(table) = table
        && !table.is_empty()
    {
        section_break(&mut out);
        comments(&mut out, &notes.args, "");
        out.push_str("[args]\n");
        for (name, decls) in table {
            let value = match decls.as_slice() {
                [one] => arg_value(one),
                many => {
                    let values: Vec<String> = many.iter().map(|d| arg_value(d)).collect();
                    format!("[{}]", values.join(", "))
                }
            };
            let _ = writeln!(out, "{} = {value}", encode::key(name));
        }
    }
    for stage in &project.stages {
        section_break(&mut out);
        stage::write_stage(&mut out, stage, notes);
    }
    for artifact in &project.artifacts {
        section_break(&mut out);
        let _ = writeln!(out, "[artifacts.{}]", encode::key(&artifact.name));
        let _ = writeln!(out, "stage = {}", encode::string(&artifact.stage));
        let _ = writeln!(out, "path = {}", encode::string(&artifact.path));
        if let Some(description) = &artifact.description {
            let _ = writeln!(out, "description = {}", encode::string(description));
        }
    }
    for target in &project.targets {
        section_break(&mut out);
        let _ = writeln!(out, "[targets.{}]", encode::key(&target.name));
        write_target(&mut out, &target.kind);
        if !target.args.is_empty() {
            let pairs: Vec<(&str, &str)> = target
                .args
                .iter()
                .map(|(k, v)| (k.value.as_str(), v.value.as_str()))
                .collect();
            let _ = writeln!(out, "args = {}", encode::string_map(&pairs));
        }
    }
    out
}

fn write_settings(out: &mut String, project: &Project) {
    let context = (project.context != ".").then_some(&project.context);
    if project.name.is_none()
        && context.is_none()
        && project.default_target.is_none()
        && !project.reproducible
        && project.builder.is_none()
    {
        return;
    }
    section_break(out);
    out.push_str("[project]\n");
    if let Some(name) = &project.name {
        let _ = writeln!(out, "name = {}", encode::string(name));
    }
    if let Some(context) = context {
        let _ = writeln!(out, "context = {}", encode::string(context));
    }
    if let Some(target) = &project.default_target {
        let _ = writeln!(out, "default-target = {}", encode::string(target));
    }
    if project.reproducible {
        out.push_str("reproducible = true\n");
    }
    if let Some(builder) = &project.builder {
        let _ = writeln!(out, "builder = {}", encode::string(&builder.value));
    }
}

fn write_target(out: &mut String, kind: &TargetKind) {
    match kind {
        TargetKind::Image {
            stage,
            tags,
            labels,
            platforms,
        } => {
            let _ = writeln!(out, "stage = {}", encode::string(stage));
            if !tags.is_empty() {
                let _ = writeln!(out, "tags = {}", located_strings(tags));
            }
            if !labels.is_empty() {
                let _ = writeln!(out, "labels = {}", encode::string_map(labels));
            }
            if !platforms.is_empty() {
                let _ = writeln!(out, "platforms = {}", located_strings(platforms));
            }
        }
        TargetKind::Artifacts {
            artifacts,
            output,
            platforms,
        } => {
            let _ = writeln!(out, "artifacts = {}", located_strings(artifacts));
            let _ = writeln!(out, "output = {}", encode::string(output));
            if !platforms.is_empty() {
                let _ = writeln!(out, "platforms = {}", located_strings(platforms));
            }
        }
    }
}

fn located_strings(items: &[crate::located::Located<String>]) -> String {
    let plain: Vec<&str> = items.iter().map(|s| s.value.as_str()).collect();
    encode::strings(&plain)
}

/// `"default"` or `{}`.
/// Global ARGs by name, for `[args]`: a name declared again is written as
/// the array of its declarations, which must then follow one another.
/// `None` when a name is declared again after other names: the table
/// cannot keep that order.
fn args_table(decls: &[ArgDecl]) -> Option<Vec<(&str, Vec<&ArgDecl>)>> {
    let mut out: Vec<(&str, Vec<&ArgDecl>)> = Vec::new();
    for decl in decls {
        let seen = out.iter().position(|(name, _)| *name == decl.name.value);
        match seen {
            Some(at) if at + 1 == out.len() => out[at].1.push(decl),
            Some(_) => return None,
            None => out.push((&decl.name.value, vec![decl])),
        }
    }
    Some(out)
}

/// The declarations in order, cut where a name comes again: each group
/// is one inline table of the ordered form.
fn args_groups(decls: &[ArgDecl]) -> Vec<&[ArgDecl]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for (i, decl) in decls.iter().enumerate() {
        if decls[start..i]
            .iter()
            .any(|d| d.name.value == decl.name.value)
        {
            groups.push(&decls[start..i]);
            start = i;
        }
    }
    if start < decls.len() {
        groups.push(&decls[start..]);
    }
    groups
}

fn arg_value(decl: &ArgDecl) -> String {
    decl.default
        .as_deref()
        .map_or_else(|| "{}".to_owned(), encode::string)
}

/// An inline table of ARG declarations.
fn arg_table(decls: &[ArgDecl]) -> String {
    let pairs: Vec<(String, String)> = decls
        .iter()
        .map(|d| (d.name.value.clone(), arg_value(d)))
        .collect();
    encode::inline(&pairs)
}

fn section_break(out: &mut String) {
    if !out.is_empty() {
        out.push('\n');
    }
}

/// Comment lines, each prefixed by `indent`; a line break inside one
/// (`\n`, `\r`) starts a new comment line. TOML allows no other control
/// character in a comment but tab: each becomes U+FFFD.
fn comments(out: &mut String, lines: &[String], indent: &str) {
    for line in lines.iter().flat_map(|l| l.split(['\n', '\r'])) {
        let line: String = line
            .chars()
            .map(|c| {
                if c.is_control() && c != '\t' {
                    '\u{fffd}'
                } else {
                    c
                }
            })
            .collect();
        let line = line.trim_end();
        if line.is_empty() {
            let _ = writeln!(out, "{indent}#");
        } else {
            let _ = writeln!(out, "{indent}# {line}");
        }
    }
}

#[cfg(test)]
mod tests;
