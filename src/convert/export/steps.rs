//! The non-RUN steps and stage keys: COPY, artifact copies, ADD, ENV,
//! WORKDIR, USER, ARG and SHELL, each as Dockerfile instruction text.

use super::words::{self, inexpressible};
use crate::config::model::{Add, ArgDecl, ArtifactCopy, Copy, CopyFrom, CopyOptions, Project};
use crate::convert::codes;
use crate::diagnostics::{Diagnostic, Label, did_you_mean};
use crate::located::{Located, Span};

/// Instruction text plus whether only BuildKit can build it.
pub type Lowered = (String, bool);

/// `ENV k=v …`, one pair per line after the first.
pub fn env(pairs: &[(Located<String>, Located<String>)]) -> Result<Lowered, Diagnostic> {
    pairs_instruction(
        "ENV",
        pairs.iter().map(|(k, v)| (k, v.value.as_str(), v.span)),
    )
}

/// `LABEL k=v …`, one pair per line after the first.
pub fn labels(pairs: &[(String, String)], span: Span) -> Result<Lowered, Diagnostic> {
    let located: Vec<Located<String>> = pairs
        .iter()
        .map(|(k, _)| Located::new(k.clone(), span))
        .collect();
    pairs_instruction(
        "LABEL",
        located
            .iter()
            .zip(pairs)
            .map(|(k, (_, v))| (k, v.as_str(), span)),
    )
}

fn pairs_instruction<'a>(
    keyword: &str,
    pairs: impl Iterator<Item = (&'a Located<String>, &'a str, Span)>,
) -> Result<Lowered, Diagnostic> {
    let mut parts = Vec::new();
    for (key, value, span) in pairs {
        let key_text = if keyword == "LABEL" {
            words::value(key, key.span, "a label key")?
        } else {
            name(key)?
        };
        parts.push(format!(
            "{key_text}={}",
            words::value(value, span, "the value")?
        ));
    }
    Ok((format!("{keyword} {}", parts.join(" \\\n    ")), false))
}

/// A variable name: no whitespace, no `=`, not empty.
fn name(key: &Located<String>) -> Result<String, Diagnostic> {
    if key.is_empty() || key.contains('=') || key.chars().any(char::is_whitespace) {
        return Err(inexpressible(
            key.span,
            format!("`{}` is not a valid variable name", key.value),
        ));
    }
    Ok(key.value.clone())
}

/// One `ARG NAME[=default]` per declaration (the classic builder takes one name per ARG).
pub fn args(decls: &[ArgDecl]) -> Result<Vec<Lowered>, Diagnostic> {
    decls
        .iter()
        .map(|decl| {
            let name = name(&decl.name)?;
            Ok(match &decl.default {
                Some(default) => (
                    format!(
                        "ARG {name}={}",
                        words::value(default, decl.name.span, "the default")?
                    ),
                    false,
                ),
                None => (format!("ARG {name}"), false),
            })
        })
        .collect()
}

pub fn workdir(dir: &Located<String>) -> Result<Lowered, Diagnostic> {
    Ok((
        format!(
            "WORKDIR {}",
            words::rest_of_line(dir, dir.span, "the working directory")?
        ),
        false,
    ))
}

pub fn user(user: &Located<String>) -> Result<Lowered, Diagnostic> {
    Ok((
        format!("USER {}", words::rest_of_line(user, user.span, "the user")?),
        false,
    ))
}

pub fn shell(shell: &Located<Vec<String>>) -> Result<Lowered, Diagnostic> {
    Ok((format!("SHELL {}", words::json_array(&shell.value)), false))
}

pub fn copy(copy: &Copy, project: &Project) -> Result<Lowered, Diagnostic> {
    let mut flags = Vec::new();
    let mut buildkit = false;
    match &copy.from {
        Some(CopyFrom::Stage(stage)) => flags.push(words::flag("from", stage, stage.span)?),
        Some(CopyFrom::Image(image)) => {
            let spelled = super::image_ref(project, image);
            flags.push(words::flag("from", &spelled, image.span)?);
        }
        None => {}
    }
    buildkit |= options(&copy.options, &mut flags)?;
    if copy.parents {
        flags.push("--parents".into());
        buildkit = true;
    }
    buildkit |= excludes(&copy.exclude, &mut flags)?;
    if !copy.heredocs.is_empty() {
        return Ok((inline_files(copy, &flags)?, true));
    }
    let paths = paths(&copy.sources, &copy.to)?;
    Ok((instruction("COPY", &flags, &paths), buildkit))
}

/// `COPY <<EOF /to` followed by each body and its terminator, in the
/// order the openers appear among the sources.
fn inline_files(copy: &Copy, flags: &[String]) -> Result<String, Diagnostic> {
    let mut words: Vec<&str> = copy.sources.iter().map(|s| s.value.as_str()).collect();
    words.push(&copy.to.value);
    if words
        .iter()
        .any(|w| w.is_empty() || w.chars().any(char::is_whitespace))
    {
        return Err(inexpressible(
            copy.to.span,
            "a COPY with here-documents cannot take paths with whitespace".into(),
        ));
    }
    let mut text = instruction("COPY", flags, &words.join(" "));
    let openers: Vec<String> = copy
        .sources
        .iter()
        .flat_map(|s| crate::convert::heredoc::openers(&s.value))
        .map(|o| o.name)
        .collect();
    for name in &openers {
        let Some((_, body)) = copy.heredocs.iter().find(|(n, _)| n == name) else {
            return Err(inexpressible(
                copy.to.span,
                format!("the source `<<{name}` has no entry in `heredocs`"),
            ));
        };
        if body.lines().any(|l| l.trim_start_matches('\t') == name) {
            return Err(inexpressible(
                copy.to.span,
                format!("the body of `<<{name}` holds a line `{name}`, which would end it early"),
            ));
        }
        text.push('\n');
        text.push_str(body);
        if !body.is_empty() && !body.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(name);
    }
    if let Some((name, _)) = copy.heredocs.iter().find(|(n, _)| !openers.contains(n)) {
        return Err(inexpressible(
            copy.to.span,
            format!("`heredocs` has `{name}`, which no `<<{name}` source opens"),
        ));
    }
    Ok(text)
}

pub fn artifact(copy: &ArtifactCopy, project: &Project) -> Result<Lowered, Diagnostic> {
    let Some(artifact) = project.artifact(&copy.artifact) else {
        let names = project.artifacts.iter().map(|a| a.name.value.as_str());
        let mut diagnostic = Diagnostic::error(
            codes::UNKNOWN_ARTIFACT,
            format!("no artifact is named `{}`", copy.artifact.value),
        )
        .with_label(Label::primary(copy.artifact.span, "copied here"));
        if let Some(close) = did_you_mean(&copy.artifact, names) {
            diagnostic = diagnostic.with_help(format!("did you mean `{close}`?"));
        }
        return Err(diagnostic);
    };
    let mut flags = vec![words::flag("from", &artifact.stage, artifact.stage.span)?];
    let buildkit = options(&copy.options, &mut flags)?;
    let sources = [artifact.path.clone()];
    let paths = paths(&sources, &copy.to)?;
    Ok((instruction("COPY", &flags, &paths), buildkit))
}

pub fn add(add: &Add) -> Result<Lowered, Diagnostic> {
    let mut flags = Vec::new();
    let mut buildkit = options(&add.options, &mut flags)?;
    if let Some(checksum) = &add.checksum {
        flags.push(words::flag("checksum", checksum, checksum.span)?);
        buildkit = true;
    }
    if add.keep_git_dir {
        flags.push("--keep-git-dir".into());
        buildkit = true;
    }
    if let Some(unpack) = add.unpack {
        flags.push(format!("--unpack={unpack}"));
        buildkit = true;
    }
    if add.parents {
        flags.push("--parents".into());
        buildkit = true;
    }
    buildkit |= excludes(&add.exclude, &mut flags)?;
    let paths = paths(&add.sources, &add.to)?;
    Ok((instruction("ADD", &flags, &paths), buildkit))
}

/// `--chown`, `--chmod`, `--link`; true when one needs BuildKit (the
/// classic builder rejects `--chmod` and does not know `--link`).
fn options(options: &CopyOptions, flags: &mut Vec<String>) -> Result<bool, Diagnostic> {
    let mut buildkit = false;
    if let Some(chown) = &options.chown {
        flags.push(words::flag("chown", chown, chown.span)?);
    }
    if let Some(chmod) = &options.chmod {
        flags.push(words::flag("chmod", chmod, chmod.span)?);
        buildkit = true;
    }
    if options.link {
        flags.push("--link".into());
        buildkit = true;
    }
    Ok(buildkit)
}

fn excludes(patterns: &[Located<String>], flags: &mut Vec<String>) -> Result<bool, Diagnostic> {
    for pattern in patterns {
        flags.push(words::flag("exclude", pattern, pattern.span)?);
    }
    Ok(!patterns.is_empty())
}

fn paths(sources: &[Located<String>], to: &Located<String>) -> Result<String, Diagnostic> {
    let mut all: Vec<&str> = sources.iter().map(|s| s.value.as_str()).collect();
    all.push(&to.value);
    words::paths(&all, to.span)
}

fn instruction(keyword: &str, flags: &[String], rest: &str) -> String {
    if flags.is_empty() {
        format!("{keyword} {rest}")
    } else {
        format!("{keyword} {} {rest}", flags.join(" "))
    }
}
