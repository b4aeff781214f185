//! One stage: FROM, the stage keys lifted from the instructions right
//! after it, the steps, and the image config.

use std::collections::HashSet;

use super::comments::Comments;
use super::config;
use super::context::{Context, malformed, unsupported};
use super::moved_config::kept_in_place;
use super::steps::{self, flags};
use crate::config::bases;
use crate::config::model::{Base, ImageConfig, Stage, Step, StepKind};
use crate::config::write::Notes;
use crate::diagnostics::Diagnostic;
use crate::dockerfile::Node;
use crate::located::Located;

/// The name in `FROM base AS name`, as written.
pub fn given_name<'n>(from: &'n Node<'_>) -> Option<&'n str> {
    match from.args.as_slice() {
        [_, kw, name] if kw.eq_ignore_ascii_case("as") => Some(name),
        _ => None,
    }
}

/// Where lifting stage keys has got to: each key may only follow the ones
/// export writes before it (args, env, workdir, user, shell).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Args,
    Env,
    Workdir,
    User,
    Shell,
    Done,
}

pub fn stage(
    nodes: &[Node],
    cx: &Context,
    comments: &Comments,
    notes: &mut Notes,
) -> Result<Stage, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let from = &nodes[0];
    let name = cx.stage_names[cx.current].clone();
    let mut stage = match base(from, cx) {
        Ok((base, platform)) => Stage {
            name: Located::new(name.clone(), from.span),
            from: Located::new(base, from.span),
            platform: platform.map(|p| Located::new(p, from.span)),
            args: Vec::new(),
            env: Vec::new(),
            workdir: None,
            user: None,
            shell: None,
            steps: Vec::new(),
            config: ImageConfig::default(),
        },
        Err(e) => return Err(vec![e]),
    };
    add_notes(
        notes.stages.entry(name.clone()).or_default(),
        comments.of(from),
    );
    let mut phase = Phase::Args;
    let in_place = kept_in_place(nodes, cx);
    for (index, node) in nodes.iter().enumerate().skip(1) {
        let keyword = node.name();
        if in_place.contains(&index) {
            let mut settings = ImageConfig::default();
            match config::apply(node, cx, &mut settings) {
                Ok(()) => {
                    add_step_notes(notes, &name, stage.steps.len(), comments.of(node));
                    stage.steps.push(Step {
                        kind: StepKind::Config(settings),
                        span: node.span,
                    });
                    // Stage keys apply before every step: what follows a
                    // step is a step too.
                    phase = Phase::Done;
                }
                Err(e) => errors.push(e),
            }
            continue;
        }
        if let Some(key) = config::key_of(&keyword) {
            match config::apply(node, cx, &mut stage.config) {
                Ok(()) => {
                    add_notes(
                        notes
                            .keys
                            .entry((name.clone(), key.to_owned()))
                            .or_default(),
                        comments.of(node),
                    );
                }
                Err(e) => errors.push(e),
            }
            continue;
        }
        match lift(node, cx, &mut stage, phase) {
            Ok(Some((next, key))) => {
                phase = next;
                add_notes(
                    notes
                        .keys
                        .entry((name.clone(), key.to_owned()))
                        .or_default(),
                    comments.of(node),
                );
                continue;
            }
            Ok(None) => phase = Phase::Done,
            Err(e) => {
                errors.push(e);
                continue;
            }
        }
        match steps::step(node, cx) {
            Ok(kind) => {
                // The comments above the instruction go above the first of
                // its steps only: once per step would copy them as often as
                // the instruction repeats a key.
                add_step_notes(notes, &name, stage.steps.len(), comments.of(node));
                for kind in split_duplicate_keys(kind) {
                    stage.steps.push(Step {
                        kind,
                        span: node.span,
                    });
                }
            }
            Err(e) => errors.push(e),
        }
    }
    notes.stages.retain(|_, v| !v.is_empty());
    notes.keys.retain(|_, v| !v.is_empty());
    if errors.is_empty() {
        Ok(stage)
    } else {
        Err(errors)
    }
}

fn add_notes(into: &mut Vec<String>, comments: &[String]) {
    into.extend(comments.iter().cloned());
}

/// Comments above the step at `index` of stage `name`.
fn add_step_notes(notes: &mut Notes, name: &str, index: usize, comments: &[String]) {
    if !comments.is_empty() {
        add_notes(
            notes.steps.entry((name.to_owned(), index)).or_default(),
            comments,
        );
    }
}

/// `FROM [--platform=…] base [AS name]`.
fn base(from: &Node, cx: &Context) -> Result<(Base, Option<String>), Diagnostic> {
    let mut platform = None;
    for flag in flags(from, cx)? {
        match flag.name.as_str() {
            "platform" => platform = flag.value,
            other => return Err(unsupported(from, &format!("the FROM flag `--{other}`"))),
        }
    }
    let image = match from.args.as_slice() {
        [image] => image,
        [image, kw, _] if kw.eq_ignore_ascii_case("as") => image,
        _ => {
            return Err(malformed(
                from,
                "FROM takes an image and, optionally, `AS name`",
            ));
        }
    };
    // BuildKit's lexer removes quotes from the base (`FROM "${BASE}:1"`);
    // stages.toml takes the reference itself.
    let image = if image.contains(['"', '\'']) {
        super::words::unquote_value(image, cx.escape)
    } else {
        image.to_string()
    };
    let lower = image.to_ascii_lowercase();
    let earlier = &cx.stage_names[..cx.current];
    if let Some(stage) = earlier.iter().find(|n| **n == lower) {
        return Ok((Base::Stage(stage.clone()), platform));
    }
    Ok(match stage_behind_variables(&image, cx) {
        Some(stage) => (Base::Stage(stage), platform),
        None => (Base::Image(image), platform),
    })
}

/// The earlier stage a FROM with variables names, when no build can make
/// it name anything else (it reads only args no ARG declares, so their
/// defaults in `${…:-…}` always apply). One that a build arg or the
/// platform can change stays as written: stages.toml resolves it per
/// build, as BuildKit does (`Project::base_with`).
fn stage_behind_variables(image: &str, cx: &Context) -> Option<String> {
    if !image.contains('$') {
        return None;
    }
    let values = bases::global_values(
        cx.globals
            .iter()
            .map(|a| (a.name.value.as_str(), a.default.as_deref())),
        &[],
    );
    let declared = bases::declared_names(&cx.globals);
    let (expanded, dynamic) = bases::expand_base(image, &declared, &values);
    if dynamic {
        return None;
    }
    let earlier = cx.stage_names[..cx.current].iter().map(String::as_str);
    bases::earlier_stage(earlier, &expanded).map(str::to_owned)
}

/// Moves an instruction into a stage key when it sits where export would
/// write that key; `None` when it must stay a step.
fn lift(
    node: &Node,
    cx: &Context,
    stage: &mut Stage,
    phase: Phase,
) -> Result<Option<(Phase, &'static str)>, Diagnostic> {
    if phase == Phase::Done {
        return Ok(None);
    }
    Ok(match node.name().as_ref() {
        "arg" if phase <= Phase::Args => {
            let decls = steps::args(node, cx)?;
            let clash = decls.iter().enumerate().any(|(i, d)| {
                stage
                    .args
                    .iter()
                    .chain(&decls[..i])
                    .any(|e| e.name.value == d.name.value)
            });
            if clash {
                return Ok(None);
            }
            stage.args.extend(decls);
            Some((Phase::Args, "args"))
        }
        "env" if phase <= Phase::Env => {
            let pairs = steps::pairs(node, cx)?;
            let clash = pairs.iter().enumerate().any(|(i, (k, _))| {
                stage
                    .env
                    .iter()
                    .chain(&pairs[..i])
                    .any(|(e, _)| e.value == k.value)
            });
            // Values of one ENV see the variables as they were before it.
            let reads_lifted = !stage.env.is_empty() && pairs.iter().any(|(_, v)| v.contains('$'));
            if clash || reads_lifted {
                return Ok(None);
            }
            stage.env.extend(pairs);
            Some((Phase::Env, "env"))
        }
        "workdir" if phase <= Phase::Workdir => {
            stage.workdir = Some(Located::new(steps::one(node)?, node.span));
            Some((Phase::User, "workdir"))
        }
        "user" if phase <= Phase::User => {
            stage.user = Some(Located::new(steps::one(node)?, node.span));
            Some((Phase::Shell, "user"))
        }
        "shell" if phase <= Phase::Shell => {
            stage.shell = Some(Located::new(steps::shell(node)?, node.span));
            Some((Phase::Done, "shell"))
        }
        _ => None,
    })
}

/// An ENV or ARG step naming a key twice becomes several steps: a TOML
/// table holds each key once.
fn split_duplicate_keys(kind: StepKind) -> Vec<StepKind> {
    match kind {
        StepKind::Env(pairs) => split_at_repeats(pairs, |pair| pair.0.value.clone())
            .into_iter()
            .map(StepKind::Env)
            .collect(),
        StepKind::Arg(decls) => split_at_repeats(decls, |decl| decl.name.value.clone())
            .into_iter()
            .map(StepKind::Arg)
            .collect(),
        other => vec![other],
    }
}

/// `items` in runs in which no key repeats, each run as long as it can be.
fn split_at_repeats<T>(items: Vec<T>, key: impl Fn(&T) -> String) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut current: Vec<T> = Vec::new();
    let mut keys = HashSet::new();
    for item in items {
        if !keys.insert(key(&item)) {
            out.push(std::mem::take(&mut current));
            keys.clear();
            keys.insert(key(&item));
        }
        current.push(item);
    }
    out.push(current);
    out
}

#[cfg(test)]
mod tests {
    use super::split_at_repeats;

    #[test]
    fn runs_end_before_a_repeated_key() {
        let runs = split_at_repeats(vec!["a", "b", "a", "c", "c", "b", "a"], |k| {
            (*k).to_string()
        });
        assert_eq!(runs, [vec!["a", "b"], vec!["a", "c"], vec!["c", "b", "a"]]);
        let distinct: Vec<String> = (0..20_000).map(|i| format!("k{i}")).collect();
        assert_eq!(split_at_repeats(distinct, Clone::clone).len(), 1);
    }
}
