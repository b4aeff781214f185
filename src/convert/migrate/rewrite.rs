//! The heart of the migration: in a stage built from the production
//! Dockerfile, every `COPY`/`ADD` of a file that the script copied out of
//! the builder becomes a copy of that artifact. A directory that holds
//! extracted files becomes one artifact copy per file placed inside it.

use std::collections::HashMap;

use super::codes;
use super::paths;
use crate::config::model::{ArtifactCopy, CopyOptions, Stage, Step, StepKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Located;

/// An artifact and where the script put it on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    pub artifact: String,
    /// Project-relative.
    pub dest: String,
    /// Where the script copied it out, for the comment: `build.sh line 7`.
    pub origin: String,
    /// When the script copied it out (see `plan::Extraction::order`).
    pub order: usize,
}

/// What the rewrite of one stage did.
#[derive(Debug, Default)]
pub struct Rewrite {
    /// Artifacts some step now copies.
    pub consumed: Vec<String>,
    /// Warnings on the Dockerfile.
    pub diagnostics: Vec<Diagnostic>,
}

/// Rewrites `stage`, whose context sources are relative to `context`
/// (project-relative). `has_other_files(dir, extracted)` says whether the
/// project's `dir` holds files besides the extracted ones. `notes` are the
/// comments before each step, by index; they follow the steps.
pub fn rewrite_stage(
    stage: &mut Stage,
    context: &str,
    landed: &[Landed],
    has_other_files: &dyn Fn(&str, &[String]) -> bool,
    notes: &mut HashMap<usize, Vec<String>>,
) -> Rewrite {
    let mut out = Rewrite::default();
    let old_steps = std::mem::take(&mut stage.steps);
    let mut old_notes = std::mem::take(notes);
    for (index, step) in old_steps.into_iter().enumerate() {
        let mut step_notes = old_notes.remove(&index).unwrap_or_default();
        let replaced = replace(&step, context, landed, has_other_files, &mut out);
        let Some((plain, copies)) = replaced else {
            if !step_notes.is_empty() {
                notes.insert(stage.steps.len(), step_notes);
            }
            stage.steps.push(step);
            continue;
        };
        let was = format!("was `{}` in the Dockerfile", describe(&step));
        if let Some(plain) = plain {
            if !step_notes.is_empty() {
                notes.insert(stage.steps.len(), std::mem::take(&mut step_notes));
            }
            stage.steps.push(plain);
        }
        for (copy, origin) in copies {
            let mut lines = std::mem::take(&mut step_notes);
            lines.push(format!(
                "{was}; `{}` came out of the builder at {origin}",
                copy.artifact.value
            ));
            notes.insert(stage.steps.len(), lines);
            out.consumed.push(copy.artifact.value.clone());
            stage.steps.push(Step {
                kind: StepKind::Artifact(copy),
                span: step.span,
            });
        }
    }
    out
}

type Replaced = (Option<Step>, Vec<(ArtifactCopy, String)>);

fn replace(
    step: &Step,
    context: &str,
    landed: &[Landed],
    has_other_files: &dyn Fn(&str, &[String]) -> bool,
    out: &mut Rewrite,
) -> Option<Replaced> {
    let (sources, to, options, is_add) = match &step.kind {
        StepKind::Copy(copy)
            if copy.from.is_none() && !copy.parents && copy.heredocs.is_empty() =>
        {
            (&copy.sources, &copy.to, &copy.options, false)
        }
        StepKind::Add(add) if !add.parents => (&add.sources, &add.to, &add.options, true),
        _ => return None,
    };
    let mut kept: Vec<Located<String>> = Vec::new();
    let mut copies: Vec<(ArtifactCopy, String)> = Vec::new();
    for source in sources {
        if source.value.contains(['*', '?', '[', '$']) || source.value.contains("://") {
            kept.push(source.clone());
            continue;
        }
        let host = paths::join(context, source.value.trim_start_matches('/'));
        let mut found = false;
        for item in landed {
            let Some(inside) = paths::strip_dir(&item.dest, &host) else {
                continue;
            };
            found = true;
            let to = if inside == "." {
                to.clone()
            } else {
                Located::new(paths::join(&to.value, &inside), to.span)
            };
            if is_add && is_archive(&item.dest) {
                out.diagnostics.push(
                    Diagnostic::warning(
                        codes::ADD_ARCHIVE,
                        format!("ADD unpacks `{}`; the artifact copy that replaces it does not", source.value),
                    )
                    .with_label(Label::primary(step.span, "an archive the script copied out"))
                    .with_help(format!(
                        "unpack it in the builder stage (`{{ run = \"tar -xf … -C /out\" }}`) and make `/out` the artifact `{}`",
                        item.artifact
                    )),
                );
            }
            copies.push((
                ArtifactCopy {
                    artifact: Located::new(item.artifact.clone(), source.span),
                    to,
                    options: options.clone(),
                },
                item.origin.clone(),
            ));
        }
        if !found {
            kept.push(source.clone());
            continue;
        }
        let extracted: Vec<String> = landed
            .iter()
            .filter(|l| paths::is_within(&l.dest, &host))
            .map(|l| l.dest.clone())
            .collect();
        let whole = extracted.contains(&host);
        if !whole && has_other_files(&host, &extracted) {
            kept.push(source.clone());
            out.diagnostics.push(
                Diagnostic::warning(
                    codes::PARTIAL_DIRECTORY,
                    format!(
                        "`{}` holds files the script copied out and files of the repository",
                        source.value
                    ),
                )
                .with_label(Label::primary(step.span, "kept, and the artifacts copied after it"))
                .with_help("the extracted files now come from the artifacts: remove them from the directory, or exclude them from this copy"),
            );
        }
    }
    if copies.is_empty() {
        return None;
    }
    let plain = (!kept.is_empty()).then(|| {
        let mut step = step.clone();
        match &mut step.kind {
            StepKind::Copy(copy) => copy.sources = kept,
            StepKind::Add(add) => add.sources = kept,
            _ => {}
        }
        step
    });
    Some((plain, copies))
}

fn is_archive(path: &str) -> bool {
    [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst",
    ]
    .iter()
    .any(|ext| path.ends_with(ext))
}

/// `COPY app .` for the comment.
fn describe(step: &Step) -> String {
    let (keyword, sources, to, options): (&str, &[Located<String>], &str, &CopyOptions) =
        match &step.kind {
            StepKind::Copy(copy) => ("COPY", &copy.sources, &copy.to.value, &copy.options),
            StepKind::Add(add) => ("ADD", &add.sources, &add.to.value, &add.options),
            _ => return step.kind.keyword().to_owned(),
        };
    let mut words = vec![keyword.to_owned()];
    if let Some(chown) = &options.chown {
        words.push(format!("--chown={}", chown.value));
    }
    if let Some(chmod) = &options.chmod {
        words.push(format!("--chmod={}", chmod.value));
    }
    words.extend(sources.iter().map(|s| s.value.clone()));
    words.push(to.to_owned());
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{Base, Copy, ImageConfig};
    use crate::located::Span;

    fn copy(sources: &[&str], to: &str) -> Step {
        Step {
            kind: StepKind::Copy(Copy {
                sources: sources
                    .iter()
                    .map(|s| Located::unplaced((*s).to_owned()))
                    .collect(),
                to: Located::unplaced(to.to_owned()),
                from: None,
                options: CopyOptions::default(),
                exclude: Vec::new(),
                parents: false,
                heredocs: Vec::new(),
            }),
            span: Span::default(),
        }
    }

    fn stage(steps: Vec<Step>) -> Stage {
        Stage {
            name: Located::unplaced("runtime".into()),
            from: Located::unplaced(Base::Image("alpine".into())),
            platform: None,
            args: Vec::new(),
            env: Vec::new(),
            workdir: None,
            user: None,
            shell: None,
            steps,
            config: ImageConfig::default(),
        }
    }

    fn landed(artifact: &str, dest: &str) -> Landed {
        Landed {
            artifact: artifact.into(),
            dest: dest.into(),
            origin: "build.sh line 3".into(),
            order: 0,
        }
    }

    fn kinds(stage: &Stage) -> Vec<String> {
        stage
            .steps
            .iter()
            .map(|s| match &s.kind {
                StepKind::Artifact(a) => format!("artifact {} -> {}", a.artifact.value, a.to.value),
                StepKind::Copy(c) => format!(
                    "copy {} -> {}",
                    c.sources
                        .iter()
                        .map(|s| s.value.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    c.to.value
                ),
                other => other.keyword().to_owned(),
            })
            .collect()
    }

    #[test]
    fn files_and_directories() {
        let mut s = stage(vec![
            copy(&["app", "config.yml"], "/srv/"),
            copy(&["dist/"], "/www"),
        ]);
        let mut notes = HashMap::from([(1, vec!["static files".to_owned()])]);
        let out = rewrite_stage(
            &mut s,
            ".",
            &[
                landed("app", "app"),
                landed("bundle", "dist/js/bundle.js"),
                landed("css", "dist/css"),
            ],
            &|_, _| false,
            &mut notes,
        );
        assert_eq!(
            kinds(&s),
            [
                "copy config.yml -> /srv/",
                "artifact app -> /srv/",
                "artifact bundle -> /www/js/bundle.js",
                "artifact css -> /www/css",
            ]
        );
        assert_eq!(out.consumed, ["app", "bundle", "css"]);
        assert_eq!(notes[&2][0], "static files");
    }

    #[test]
    fn context_and_partial_directories() {
        let mut s = stage(vec![copy(&["bin"], "/usr/local/bin/")]);
        let out = rewrite_stage(
            &mut s,
            "docker",
            &[landed("tool", "docker/bin/tool")],
            &|_, _| true,
            &mut HashMap::new(),
        );
        assert_eq!(
            kinds(&s),
            [
                "copy bin -> /usr/local/bin/",
                "artifact tool -> /usr/local/bin/tool"
            ]
        );
        assert_eq!(out.diagnostics[0].code, codes::PARTIAL_DIRECTORY);
    }
}
