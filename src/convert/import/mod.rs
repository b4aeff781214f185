//! Import: a parsed Dockerfile (`dockerfile::Dockerfile`) becomes a
//! `config::model::Project` plus the comments to write beside it.
//!
//! Meta-ARGs become `[args]`; each FROM a stage (unnamed ones are called
//! `stage-N`); ARG/ENV/WORKDIR/USER/SHELL right after FROM, in the order
//! export writes them, become stage keys, later ones steps; image config is
//! folded into stage keys, but for what a later instruction would change,
//! kept in place as config steps; `COPY --from=<stage> /path` becomes a named
//! artifact unless asked not to. What the model cannot say is an error on
//! the instruction's span, never dropped. Must not import `engine`.

mod artifacts;
mod comments;
mod config;
mod context;
mod global_args;
mod layout;
mod mount;
mod moved_config;
mod stage;
mod steps;
mod targets;
mod words;
mod written;

use crate::config::model::{ArgDecl, Project};
use crate::config::write::Notes;
use crate::convert::codes;
use crate::diagnostics::{Diagnostic, Label};
use crate::dockerfile::{Dockerfile, Node};
use context::{Context, malformed};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Turn `COPY --from=<stage> /path` into named artifacts.
    pub artifacts: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { artifacts: true }
    }
}

/// The imported project and the comments that go with it.
#[derive(Debug, Clone)]
pub struct Imported {
    pub project: Project,
    pub notes: Notes,
}

/// Converts the whole file, reporting every problem at once. Comments are
/// those the parser kept; `import_dockerfile_source` keeps them all.
pub fn import_dockerfile(
    file: &Dockerfile,
    options: &ImportOptions,
) -> Result<Imported, Vec<Diagnostic>> {
    import_dockerfile_source(file, None, options)
}

/// Like `import_dockerfile`, with the text `file` was parsed from, so that
/// every comment line between instructions is kept.
pub fn import_dockerfile_source(
    file: &Dockerfile,
    source: Option<&str>,
    options: &ImportOptions,
) -> Result<Imported, Vec<Diagnostic>> {
    let comments = comments::Comments::new(file, source);
    let mut errors = Vec::new();
    let mut notes = Notes::default();
    let first_from = file.nodes.iter().position(|n| n.name() == "from");
    let Some(first_from) = first_from else {
        let span = file.nodes.first().map(|n| n.span).unwrap_or_default();
        return Err(vec![
            Diagnostic::error(codes::MALFORMED, "the Dockerfile has no FROM")
                .with_label(Label::primary(span, "no stage starts before this"))
                .with_help("add a FROM line"),
        ]);
    };
    let too_deep = nested_too_deep(file);
    if !too_deep.is_empty() {
        return Err(too_deep);
    }
    let cx_escape = file.escape;
    let mut project = Project {
        context: ".".into(),
        ..Project::default()
    };
    for node in &file.nodes[..first_from] {
        match global_args(node, cx_escape) {
            Ok(decls) => {
                notes.args.extend(comments.of(node).iter().cloned());
                for decl in decls {
                    global_args::declare(&mut project.args, decl);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let groups = split_stages(&file.nodes[first_from..]);
    let names = stage_names(&groups);
    errors.extend(duplicate_stage_names(&groups, &names));
    let mut cx = Context {
        escape: cx_escape,
        stage_names: names,
        current: 0,
        globals: project.args.clone(),
    };
    for (index, group) in groups.iter().enumerate() {
        cx.current = index;
        match stage::stage(group, &cx, &comments, &mut notes) {
            Ok(stage) => project.stages.push(stage),
            Err(mut found) => errors.append(&mut found),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if let Some(source) = source {
        layout::lay_out_runs(&mut project, source);
    }
    let refused = refused_by_check(&project);
    if !refused.is_empty() {
        return Err(refused);
    }
    if let Some(last) = project.stages.last()
        && !comments.trailing.is_empty()
    {
        notes
            .trailing
            .insert(last.name.value.clone(), comments.trailing.clone());
    }
    if options.artifacts {
        artifacts::name_artifacts(&mut project);
    }
    targets::add_final_stage_targets(&mut project);
    let refused = written::refused_when_written(&project, &notes);
    if !refused.is_empty() {
        return Err(refused);
    }
    Ok(Imported { project, notes })
}

/// Every error `check` finds in the imported project, refused here on the
/// Dockerfile's lines rather than written into a file that does not check.
/// Among them:
/// - names and references Docker accepts only by accident (`ARG a
///   --build-arg b` declares `--build-arg`, which exports as a flag) or not
///   at all (`FROM Alpine::3.20::`, a stage name holding U+00A0, which
///   BuildKit's ASCII word split keeps in the name);
/// - `EXPOSE 80/bogus` and durations without units, which BuildKit refuses
///   when it builds the stage;
/// - values holding a carriage return, which one-line values and export
///   read as a line break, and flag values holding whitespace
///   (`--chmod="7 7"`), which export cannot write back;
/// - stages that need each other (`COPY --from=build` inside `build`),
///   which BuildKit refuses as a circular dependency;
/// - context sources written absolute or climbing out (`COPY /Dockerfile
///   /d`), which BuildKit reads inside the context but stages.toml wants
///   relative.
///
/// What `check` finds while reading a step's keys (a cache mount without
/// `target`, a `network` it does not know) is not seen here, but in
/// `written::refused_when_written`.
fn refused_by_check(project: &Project) -> Vec<Diagnostic> {
    crate::check::check_project(project)
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

fn global_args(node: &Node, escape: char) -> Result<Vec<ArgDecl>, Diagnostic> {
    if node.name() != "arg" {
        return Err(malformed(node, "only ARG may come before the first FROM"));
    }
    let cx = Context {
        escape,
        stage_names: Vec::new(),
        current: 0,
        globals: Vec::new(),
    };
    steps::args(node, &cx)
}

/// Each FROM and the instructions up to the next one.
fn split_stages<'n, 'a>(nodes: &'n [Node<'a>]) -> Vec<&'n [Node<'a>]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for (i, node) in nodes.iter().enumerate().skip(1) {
        if node.name() == "from" {
            groups.push(&nodes[start..i]);
            start = i;
        }
    }
    groups.push(&nodes[start..]);
    groups
}

/// Instructions nesting `${…}` deeper than stages.toml allows, in one of
/// the values import writes of them: `check` would refuse the file import
/// writes, so import refuses them here. The bound is on each value (check
/// measures each string of stages.toml), so each flag and argument is
/// measured alone; a command with here-documents keeps its bodies with its
/// text, and an ONBUILD trigger is written as its whole line.
fn nested_too_deep(file: &Dockerfile) -> Vec<Diagnostic> {
    use crate::config::nesting::{MAX_EXPANSION_DEPTH, expansion_depth};
    file.nodes
        .iter()
        .filter_map(|node| {
            let depth = if node.sub.is_some() {
                expansion_depth(&node.original)
            } else {
                let words = node.flags.iter().chain(&node.args);
                let alone = words.map(|w| expansion_depth(w)).max().unwrap_or(0);
                let with_bodies = if node.heredocs.is_empty() {
                    0
                } else {
                    let mut text = node.args.join(" ");
                    for heredoc in &node.heredocs {
                        text.push('\n');
                        text.push_str(&heredoc.content);
                    }
                    expansion_depth(&text)
                };
                alone.max(with_bodies)
            };
            (depth > MAX_EXPANSION_DEPTH).then(|| {
                Diagnostic::error(
                    codes::UNSUPPORTED,
                    format!("`${{…}}` nests {depth} deep here; stages.toml allows at most {MAX_EXPANSION_DEPTH}"),
                )
                .with_label(Label::primary(node.span, "this instruction"))
                .with_help("nest fewer expansions, then import again")
            })
        })
        .collect()
}

/// BuildKit refuses a stage name given twice ("duplicate stage name"),
/// and stages.toml has one table per name.
fn duplicate_stage_names(groups: &[&[Node]], names: &[String]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (index, name) in names.iter().enumerate() {
        if let Some(first) = names[..index].iter().position(|n| n == name) {
            out.push(
                Diagnostic::error(
                    codes::DUPLICATE,
                    format!("the stage name `{name}` is given twice"),
                )
                .with_label(Label::primary(
                    groups[index][0].span,
                    "the second stage of this name",
                ))
                .with_label(Label::secondary(groups[first][0].span, "the first"))
                .with_help("BuildKit refuses this too: rename one of the stages"),
            );
        }
    }
    out
}

/// Names as BuildKit knows them (lower-cased), `stage-N` for unnamed ones.
fn stage_names(groups: &[&[Node]]) -> Vec<String> {
    let given: Vec<Option<String>> = groups
        .iter()
        .map(|g| stage::given_name(&g[0]).map(|n| n.to_ascii_lowercase()))
        .collect();
    let mut names: Vec<String> = Vec::with_capacity(given.len());
    for (index, name) in given.iter().enumerate() {
        let name = name.clone().unwrap_or_else(|| {
            let mut candidate = format!("stage-{index}");
            let mut n = 1;
            while given.iter().flatten().any(|g| *g == candidate) || names.contains(&candidate) {
                candidate = format!("stage-{index}-{n}");
                n += 1;
            }
            candidate
        });
        names.push(name);
    }
    names
}

/// An ONBUILD trigger, as an image keeps it (one Dockerfile instruction),
/// as the step it becomes in a stage built on that image. `stage_names`
/// are the project's stages, for a `--from`; `current` is the stage's
/// index among them. Only step instructions can be run this way.
pub fn trigger_step(
    trigger: &str,
    stage_names: &[String],
    current: usize,
) -> Result<crate::config::model::StepKind, Diagnostic> {
    let file = crate::dockerfile::parse(trigger)?;
    let [node] = file.nodes.as_slice() else {
        return Err(Diagnostic::error(
            codes::MALFORMED,
            format!("the ONBUILD trigger `{trigger}` is not one instruction"),
        ));
    };
    let cx = context::Context {
        escape: file.escape,
        stage_names: stage_names.iter().map(|n| n.to_lowercase()).collect(),
        current,
        globals: Vec::new(),
    };
    steps::step(node, &cx)
}

#[cfg(test)]
mod tests;
