//! Build instructions (RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, SHELL) as
//! model steps.

use super::context::{Context, malformed, unsupported};
use super::words::{Flag, flag, flag_bool, unquote, unquote_value};
use crate::config::forms::CommandForm;
use crate::config::model::{Add, ArgDecl, Copy, CopyFrom, CopyOptions, Run, StepKind};
use crate::diagnostics::Diagnostic;
use crate::dockerfile::Node;
use crate::dockerfile::split::original_bytes;
use crate::located::Located;

type Pairs = Vec<(Located<String>, Located<String>)>;

pub fn step(node: &Node, cx: &Context) -> Result<StepKind, Diagnostic> {
    let here = |v: String| Located::new(v, node.span);
    match node.name().as_ref() {
        "run" => run(node, cx).map(StepKind::Run),
        "copy" => copy(node, cx).map(StepKind::Copy),
        "add" => add(node, cx).map(StepKind::Add),
        "env" => pairs(node, cx).map(StepKind::Env),
        "arg" => args(node, cx).map(StepKind::Arg),
        "workdir" => one(node).map(|v| StepKind::Workdir(here(v))),
        "user" => one(node).map(|v| StepKind::User(here(v))),
        "shell" => shell(node).map(|v| StepKind::Shell(Located::new(v, node.span))),
        other => Err(unsupported(node, &format!("`{}`", other.to_uppercase()))),
    }
}

/// The single argument of WORKDIR, USER, STOPSIGNAL.
pub fn one(node: &Node) -> Result<String, Diagnostic> {
    no_flags(node)?;
    match node.args.as_slice() {
        [one] => Ok(one.to_string()),
        _ => Err(malformed(
            node,
            &format!("{} takes one argument", node.keyword),
        )),
    }
}

pub fn shell(node: &Node) -> Result<Vec<String>, Diagnostic> {
    no_flags(node)?;
    if !node.json {
        return Err(malformed(node, "SHELL takes a JSON array"));
    }
    Ok(node.args.iter().map(|a| a.to_string()).collect())
}

/// ENV and LABEL: key, value, separator triples, values unquoted.
pub fn pairs(node: &Node, cx: &Context) -> Result<Pairs, Diagnostic> {
    no_flags(node)?;
    if node.args.is_empty() || !node.args.len().is_multiple_of(3) {
        return Err(malformed(
            node,
            &format!("{} needs key=value pairs", node.keyword),
        ));
    }
    Ok(node
        .args
        .chunks(3)
        .map(|kv| {
            (
                Located::new(unquote(&kv[0], cx.escape), node.span),
                Located::new(unquote_value(&kv[1], cx.escape), node.span),
            )
        })
        .collect())
}

pub fn args(node: &Node, cx: &Context) -> Result<Vec<ArgDecl>, Diagnostic> {
    no_flags(node)?;
    if node.args.is_empty() {
        return Err(malformed(node, "ARG needs a name"));
    }
    Ok(node
        .args
        .iter()
        .map(|word| {
            let (name, default) = match word.split_once('=') {
                Some((name, value)) => (name, Some(unquote_value(value, cx.escape))),
                None => (word.as_ref(), None),
            };
            ArgDecl {
                name: Located::new(name.to_owned(), node.span),
                default,
            }
        })
        .collect())
}

/// Exec form, shell form, or a shell form with heredocs.
pub fn command(node: &Node) -> Result<CommandForm, Diagnostic> {
    if node.json {
        return Ok(CommandForm::Exec(
            node.args.iter().map(|a| a.to_string()).collect(),
        ));
    }
    let [text] = node.args.as_slice() else {
        return Err(malformed(
            node,
            &format!("{} needs a command", node.keyword),
        ));
    };
    if node.heredocs.is_empty() {
        return Ok(CommandForm::Shell(text.to_string()));
    }
    // `RUN <<EOF` alone is a script: its body is the command. So is
    // `RUN <<EOF_1` when the body holds `EOF`: export picks the first
    // delimiter the body does not hold. A body that is itself a closed
    // heredoc text is the exception: export writes such a command as it is,
    // not inside a new heredoc. Any other use keeps the instruction text
    // with its bodies and terminators, which export writes back as is.
    if let [only] = node.heredocs.as_slice()
        && **text
            == format!(
                "<<{}",
                crate::convert::heredoc::delimiter_for(&only.content)
            )
        && only.content.ends_with('\n')
        && !crate::convert::heredoc::is_closed_heredoc_text(&only.content)
    {
        return Ok(CommandForm::Shell(only.content.clone()));
    }
    let mut verbatim = text.to_string();
    for heredoc in &node.heredocs {
        verbatim.push('\n');
        verbatim.push_str(&heredoc.content);
        verbatim.push_str(&heredoc.name);
    }
    Ok(CommandForm::Shell(verbatim))
}

fn run(node: &Node, cx: &Context) -> Result<Run, Diagnostic> {
    let mut run = Run {
        command: Located::new(command(node)?, node.span),
        mounts: Vec::new(),
        network: None,
        security: None,
        devices: Vec::new(),
    };
    for flag in flags(node, cx)? {
        let value = flag.value.clone().unwrap_or_default();
        match flag.name.as_str() {
            "mount" => run.mounts.push(Located::new(
                super::mount::mount(node, &value, cx)?,
                node.span,
            )),
            "network" => run.network = Some(Located::new(value, node.span)),
            "security" => run.security = Some(Located::new(value, node.span)),
            "device" => run.devices.push(Located::new(value, node.span)),
            other => return Err(unsupported(node, &format!("the RUN flag `--{other}`"))),
        }
    }
    Ok(run)
}

/// Sources and destination of COPY/ADD.
fn paths(node: &Node, cx: &Context) -> Result<(Vec<Located<String>>, Located<String>), Diagnostic> {
    if !node.heredocs.is_empty() && node.name() != "copy" {
        return Err(unsupported(
            node,
            &format!(
                "{} with a here-document as its source",
                node.keyword.to_uppercase()
            ),
        ));
    }
    let Some((to, sources)) = node.args.split_last() else {
        return Err(malformed(
            node,
            &format!("{} needs a source and a destination", node.keyword),
        ));
    };
    if sources.is_empty() {
        return Err(malformed(
            node,
            &format!("{} needs a source and a destination", node.keyword),
        ));
    }
    // A COPY with here-documents is written back as bare words, where
    // whitespace (an ASCII space or a Unicode one such as U+00A0) would
    // split or blur a path: export could not write what import kept.
    if !node.heredocs.is_empty()
        && node
            .args
            .iter()
            .any(|a| a.is_empty() || a.chars().any(char::is_whitespace))
    {
        return Err(unsupported(
            node,
            "a COPY with here-documents whose path is empty or holds whitespace",
        ));
    }
    let here = |v: &std::borrow::Cow<str>| {
        let value = if node.heredocs.is_empty() {
            path_value(v, cx.escape)
        } else {
            v.to_string()
        };
        Located::new(value, node.span)
    };
    Ok((sources.iter().map(here).collect(), here(to)))
}

/// A COPY or ADD path as BuildKit's lexer reads it: quotes that only
/// protected the word (`"$APP"/bin`) are removed, a `$` they kept from
/// expansion becomes `\$`. Paths are written back as bare words, which
/// the lexer reads again: a value that needs its quotes (it holds a quote,
/// an escape or whitespace, or is empty) and a word with unbalanced quotes
/// (BuildKit refuses it when it builds) stay as written.
fn path_value(word: &str, escape: char) -> String {
    if !word.contains(['\'', '"']) || !balanced_quotes(word, escape) {
        return word.to_owned();
    }
    let value = unquote_value(word, escape);
    let bare = !value.is_empty()
        && !value.contains(['\'', '"', '`'])
        && !value.chars().any(char::is_whitespace)
        && value
            .match_indices('\\')
            .all(|(at, _)| value[at + 1..].starts_with('$'));
    if bare { value } else { word.to_owned() }
}

/// Whether every quote in `word` is closed.
fn balanced_quotes(word: &str, escape: char) -> bool {
    let mut open: Option<char> = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match open {
            Some('\'') if c == '\'' => open = None,
            Some('"') if c == '"' => open = None,
            Some('"') if c == escape => {
                chars.next();
            }
            Some(_) => {}
            None if c == '\'' || c == '"' => open = Some(c),
            None if c == escape => {
                chars.next();
            }
            None => {}
        }
    }
    open.is_none()
}

fn copy(node: &Node, cx: &Context) -> Result<Copy, Diagnostic> {
    let (sources, to) = paths(node, cx)?;
    let mut copy = Copy {
        sources,
        to,
        from: None,
        options: CopyOptions::default(),
        exclude: Vec::new(),
        parents: false,
        heredocs: node
            .heredocs
            .iter()
            .map(|h| (h.name.clone(), h.content.clone()))
            .collect(),
    };
    for flag in flags(node, cx)? {
        if copy_option(node, &flag, &mut copy.options)? {
            continue;
        }
        let value = flag.value.clone().unwrap_or_default();
        match flag.name.as_str() {
            "from" => {
                copy.from = Some(match cx.stage_ref(&value) {
                    Some(stage) => CopyFrom::Stage(Located::new(stage, node.span)),
                    None => CopyFrom::Image(Located::new(value, node.span)),
                });
            }
            "exclude" => copy.exclude.push(Located::new(value, node.span)),
            "parents" => copy.parents = bool_flag(node, &flag)?,
            other => return Err(unsupported(node, &format!("the COPY flag `--{other}`"))),
        }
    }
    if copy.from.is_none() && copy.heredocs.is_empty() {
        context_relative(&mut copy.sources);
    }
    Ok(copy)
}

/// BuildKit reads a context source written absolute (`COPY /Dockerfile
/// /d`) from the context's root; stages.toml writes context paths
/// relative, so the leading `/` goes (`/` alone is `.`).
fn context_relative(sources: &mut [Located<String>]) {
    for source in sources {
        if source.value.starts_with('/') {
            let relative = source.value.trim_start_matches('/');
            source.value = if relative.is_empty() {
                ".".to_owned()
            } else {
                relative.to_owned()
            };
        }
    }
}

fn add(node: &Node, cx: &Context) -> Result<Add, Diagnostic> {
    let (sources, to) = paths(node, cx)?;
    let mut add = Add {
        sources,
        to,
        options: CopyOptions::default(),
        checksum: None,
        keep_git_dir: false,
        exclude: Vec::new(),
        parents: false,
        unpack: None,
    };
    for flag in flags(node, cx)? {
        if copy_option(node, &flag, &mut add.options)? {
            continue;
        }
        let value = flag.value.clone().unwrap_or_default();
        match flag.name.as_str() {
            "checksum" => add.checksum = Some(Located::new(value, node.span)),
            "keep-git-dir" => add.keep_git_dir = bool_flag(node, &flag)?,
            "exclude" => add.exclude.push(Located::new(value, node.span)),
            "parents" => add.parents = bool_flag(node, &flag)?,
            "unpack" => add.unpack = Some(bool_flag(node, &flag)?),
            other => return Err(unsupported(node, &format!("the ADD flag `--{other}`"))),
        }
    }
    context_relative(&mut add.sources);
    Ok(add)
}

/// `--chown`, `--chmod`, `--link`; false when the flag is another one.
fn copy_option(node: &Node, flag: &Flag, options: &mut CopyOptions) -> Result<bool, Diagnostic> {
    let value = || Located::new(flag.value.clone().unwrap_or_default(), node.span);
    match flag.name.as_str() {
        "chown" => options.chown = Some(value()),
        "chmod" => options.chmod = Some(value()),
        "link" => options.link = bool_flag(node, flag)?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn bool_flag(node: &Node, flag: &Flag) -> Result<bool, Diagnostic> {
    flag_bool(flag.value.as_deref())
        .ok_or_else(|| malformed(node, &format!("`--{}` takes true or false", flag.name)))
}

/// The instruction's flags with their values as written: the parser keeps
/// them as BuildKit reads them (each byte a Latin-1 character), which would
/// store `--chown=café` as `cafÃ©` and garble it further on every round trip.
pub fn flags(node: &Node, cx: &Context) -> Result<Vec<Flag>, Diagnostic> {
    node.flags
        .iter()
        .map(|word| {
            let word = original_bytes(word);
            flag(&word, cx.escape)
                .ok_or_else(|| malformed(node, &format!("`{word}` is not a flag")))
        })
        .collect()
}

pub fn no_flags(node: &Node) -> Result<(), Diagnostic> {
    match node.flags.first() {
        Some(flag) => Err(unsupported(
            node,
            &format!("the {} flag `{flag}`", node.keyword.to_uppercase()),
        )),
        None => Ok(()),
    }
}
