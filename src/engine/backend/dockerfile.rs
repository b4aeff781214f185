//! The `dockerfile` back end: export the Dockerfile for the needed stages,
//! pack it with the context, and hand both to the Engine's classic builder
//! (`version=1`), streaming its output as progress. BuildKit-only features
//! are refused before anything is sent, naming the feature.

use std::collections::{BTreeMap, VecDeque};

use futures_util::StreamExt;

use super::empty_stage::{has_no_image, with_commit};
use super::failure::{FailedStep, TAIL_LINES, stage_outcome};
use super::{Backend, BuildFailure, StageBuild};
use crate::check::{Backend as CheckedBackend, unsupported_features};
use crate::convert::export::{ExportOptions, ExportedDockerfile, ExportedStep, export_dockerfile};
use crate::diagnostics::Diagnostic;
use crate::engine::build_log::{LineBuffer, LogLine};
use crate::engine::client::{BuildMessage, ClassicBuild, Engine};
use crate::engine::codes;
use crate::engine::context::{ContextError, DOCKERFILE_NAME, pack_context};
use crate::engine::interrupt::{Interrupt, Janitor};
use crate::engine::progress::{Event, ProgressSink};
use crate::engine::source_check::escaping_sources;
use crate::engine::tar_stream::streamed;

/// How long an interrupted build waits to learn the id of a container the
/// builder is creating.
const INTERRUPT_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The classic-builder back end over an Engine.
pub struct DockerfileBackend<'e, E: Engine> {
    engine: &'e E,
    /// Every step image the builds so far made or found. Under `--no-cache`
    /// the first target's build runs every step; the next ones may reuse
    /// only these (`cache_from`), so a stage two targets need is built once
    /// per `stages build`, never taken from an earlier one.
    step_images: std::sync::Mutex<Vec<String>>,
}

impl<'e, E: Engine> DockerfileBackend<'e, E> {
    pub fn new(engine: &'e E) -> Self {
        Self {
            engine,
            step_images: std::sync::Mutex::default(),
        }
    }

    fn step_images(&self) -> Vec<String> {
        self.step_images
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn note_step_images(&self, images: Vec<String>) {
        let mut known = self
            .step_images
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for image in images {
            if !known.contains(&image) {
                known.push(image);
            }
        }
    }

    /// `(no_cache, cache_from)` for the next build.
    fn cache_rules(&self, no_cache: bool) -> (bool, Vec<String>) {
        let known = self.step_images();
        if no_cache && !known.is_empty() {
            (false, known)
        } else {
            (no_cache, Vec::new())
        }
    }
}

/// Exports the Dockerfile for a build, refusing what the classic builder
/// cannot run.
pub fn prepare(request: &StageBuild<'_>) -> Result<ExportedDockerfile, Vec<Diagnostic>> {
    let unsupported = unsupported_features(
        request.project,
        CheckedBackend::ClassicDockerfile,
        request.stages,
    );
    if !unsupported.is_empty() {
        return Err(unsupported);
    }
    let escaping = escaping_sources(request.project, request.stages, request.context_dir);
    if !escaping.is_empty() {
        return Err(escaping);
    }
    let exported = export_dockerfile(
        request.project,
        request.stages,
        &ExportOptions {
            header: true,
            ..ExportOptions::default()
        },
    )
    .map_err(|d| vec![d])?;
    if exported.needs_buildkit {
        let line = exported
            .text
            .lines()
            .find(|l| l.contains("<<") || l.contains("--mount") || l.contains("--link"))
            .unwrap_or("a BuildKit-only instruction");
        return Err(vec![
            Diagnostic::error(
                codes::UNSUPPORTED_FEATURE,
                format!(
                    "the classic Dockerfile builder cannot run this build: it needs BuildKit for `{}`",
                    line.trim()
                ),
            )
            .with_help("use `--backend native`, or export the Dockerfile and build it with `docker buildx build`"),
        ]);
    }
    Ok(exported)
}

impl<E: Engine> Backend for DockerfileBackend<'_, E> {
    fn name(&self) -> &'static str {
        "the classic Dockerfile builder"
    }

    async fn build_stage(
        &self,
        request: &StageBuild<'_>,
        progress: &mut dyn ProgressSink,
        janitor: &Janitor,
        interrupt: &Interrupt,
    ) -> Result<String, BuildFailure> {
        let exported = prepare(request).map_err(BuildFailure::Reported)?;
        let context_dir = request.context_dir.to_owned();
        // One LABEL instruction for all the image's labels: the builder's
        // `labels` option would add one step (one container commit) per label.
        let mut text = with_labels(&exported.text, &request.labels);
        let overrides: Vec<(String, String)> = request
            .build_args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if request.labels.is_empty()
            && has_no_image(
                request.project,
                request.stage,
                &exported.instructions,
                &overrides,
            )
        {
            text = with_commit(&text);
        }
        let context = tokio::task::spawn_blocking(move || pack_context(&context_dir, &text))
            .await
            .map_err(|join| ContextError::Read {
                path: request.context_dir.to_owned(),
                source: std::io::Error::other(join.to_string()),
            })??;
        let (no_cache, cache_from) = self.cache_rules(request.no_cache);
        let build = ClassicBuild {
            dockerfile: DOCKERFILE_NAME.to_owned(),
            target: Some(request.stage.to_owned()),
            build_args: request.build_args.clone(),
            labels: BTreeMap::new(),
            no_cache,
            cache_from,
        };
        if interrupt.is_requested() {
            return Err(BuildFailure::Interrupted);
        }
        let mut watch = Watch::new(&exported.instructions, request.stage, progress, janitor);
        let body = streamed(move |writer| {
            let mut builder = tar::Builder::new(writer);
            context.tar.append_to(&mut builder)?;
            builder.finish()
        });
        let mut stream = self.engine.build(build, body);
        let mut buffer = LineBuffer::default();
        let mut image = None;
        let mut error = None;
        let mut grace: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            let next = match grace.as_mut() {
                // Interrupted: read on only while a container the builder
                // is creating is not yet known, so the janitor can remove it.
                Some(deadline) => {
                    if !watch.container_pending() {
                        return Err(BuildFailure::Interrupted);
                    }
                    tokio::select! {
                        next = stream.next() => next,
                        () = deadline => return Err(BuildFailure::Interrupted),
                    }
                }
                None => tokio::select! {
                    next = stream.next() => next,
                    () = interrupt.requested() => {
                        grace = Some(Box::pin(tokio::time::sleep(INTERRUPT_GRACE)));
                        continue;
                    }
                },
            };
            let Some(message) = next else { break };
            match message? {
                BuildMessage::Output(text) => {
                    for line in buffer.push(&text) {
                        watch.line(&line, &mut image);
                    }
                }
                BuildMessage::Status(status) => watch.output(&status),
                BuildMessage::ImageId(id) => image = Some(id),
                BuildMessage::Error(message) => error = Some(message),
            }
        }
        if interrupt.is_requested() {
            return Err(BuildFailure::Interrupted);
        }
        if let Some(rest) = buffer.finish() {
            watch.line(&rest, &mut image);
        }
        self.note_step_images(std::mem::take(&mut watch.step_images));
        let failure = error.map(|message| (watch.failed(), message));
        stage_outcome(
            request,
            &exported.instructions,
            failure,
            image,
            "the Engine",
        )
    }
}

/// The Dockerfile with one `LABEL` line appended to its last stage (the
/// target). Values are double-quoted with `\\`, `"` and `$` escaped, so
/// the builder reads them literally; a line break becomes a space.
pub fn with_labels(dockerfile: &str, labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return dockerfile.to_owned();
    }
    let quote = |text: &str| {
        let mut quoted = String::from("\"");
        for ch in text.chars() {
            match ch {
                '\\' | '"' | '$' => {
                    quoted.push('\\');
                    quoted.push(ch);
                }
                '\n' | '\r' => quoted.push(' '),
                _ => quoted.push(ch),
            }
        }
        quoted.push('"');
        quoted
    };
    let pairs: Vec<String> = labels
        .iter()
        .map(|(key, value)| format!("{}={}", quote(key), quote(value)))
        .collect();
    let mut text = dockerfile.trim_end_matches('\n').to_owned();
    text.push_str("\nLABEL ");
    text.push_str(&pairs.join(" "));
    text.push('\n');
    text
}

/// Follows the builder's output: which step runs, its recent output, and
/// the containers it creates.
struct Watch<'a> {
    instructions: &'a [ExportedStep],
    target_stage: &'a str,
    progress: &'a mut dyn ProgressSink,
    janitor: &'a Janitor,
    current: FailedStep,
    /// A step started and its container (if it makes one) is not known yet.
    step_open: bool,
    stage: String,
    tail: VecDeque<String>,
    /// The image of every step (` ---> id`), made or found in the cache.
    step_images: Vec<String>,
}

impl<'a> Watch<'a> {
    fn new(
        instructions: &'a [ExportedStep],
        target_stage: &'a str,
        progress: &'a mut dyn ProgressSink,
        janitor: &'a Janitor,
    ) -> Self {
        Self {
            instructions,
            target_stage,
            progress,
            janitor,
            current: FailedStep::default(),
            step_open: false,
            stage: target_stage.to_owned(),
            tail: VecDeque::new(),
            step_images: Vec::new(),
        }
    }

    fn line(&mut self, line: &str, image: &mut Option<String>) {
        match LogLine::classify(line) {
            LogLine::Step { index, total, text } => {
                // Steps past the exported ones are the appended LABEL.
                self.stage = match self.instructions.get(index.wrapping_sub(1)) {
                    Some(origin) if origin.stage.is_empty() => "args".to_owned(),
                    Some(origin) => origin.stage.clone(),
                    None => self.target_stage.to_owned(),
                };
                self.current = FailedStep {
                    index: Some(index),
                    text: text.clone(),
                    tail: Vec::new(),
                };
                self.tail.clear();
                self.step_open = true;
                self.progress.event(Event::Step {
                    stage: &self.stage,
                    index,
                    total,
                    text: &text,
                });
            }
            LogLine::RunningIn(id) => {
                self.janitor.track(&id);
                self.step_open = false;
            }
            LogLine::Removed(id) => self.janitor.forget(&id),
            LogLine::UsingCache => {
                self.step_open = false;
                self.progress.event(Event::Cached { stage: &self.stage });
            }
            LogLine::Layer(id) => {
                self.step_open = false;
                self.step_images.push(id);
            }
            LogLine::Built(id) => {
                if image.is_none() {
                    *image = Some(id);
                }
            }
            LogLine::Output(text) => self.output(&text),
        }
    }

    fn container_pending(&self) -> bool {
        self.step_open
    }

    fn output(&mut self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(text.to_owned());
        self.progress.event(Event::Output {
            stage: &self.stage,
            line: text,
        });
    }

    fn failed(&self) -> FailedStep {
        FailedStep {
            tail: self.tail.iter().cloned().collect(),
            ..self.current.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_one_quoted_instruction_at_the_end() {
        let labels: BTreeMap<String, String> = [
            ("dev.stages.stage".to_owned(), "app".to_owned()),
            (
                "note".to_owned(),
                "costs $5 \"now\"\\\nsecond line".to_owned(),
            ),
        ]
        .into_iter()
        .collect();
        let text = with_labels("FROM scratch AS app\n\n", &labels);
        assert_eq!(
            text,
            "FROM scratch AS app\nLABEL \"dev.stages.stage\"=\"app\" \"note\"=\"costs \\$5 \\\"now\\\"\\\\ second line\"\n"
        );
        assert_eq!(
            with_labels("FROM scratch\n", &BTreeMap::new()),
            "FROM scratch\n"
        );
    }
}
