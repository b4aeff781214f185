//! One stage, step by step: its base, its settings (args, env, workdir,
//! user, shell), its steps in order, then its image configuration.
//! Configuration-only steps change the tracked settings and cost nothing;
//! a RUN commits an image, the copies up to the next RUN commit one
//! together (`copy_group`), or each finds its image cached.

use std::collections::BTreeMap;

use super::build::{NativeBuild, StageFailure, StageOutput};
use super::engine_api::{ImageSettings, StepEngine};
use super::expand::expand_word;
use super::scope::StageScope;
use super::settings::apply_image_config;
use super::step_common::{StageState, StepRef};
use super::step_text::step_text;
use super::{copy_group, run_step};
use crate::config::model::{Base, ImageConfig, Stage, Step, StepKind};

/// The PATH Docker gives a stage whose base sets no environment.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub async fn run_stage<E: StepEngine>(
    build: &NativeBuild<E>,
    name: &str,
    inputs: &BTreeMap<String, StageOutput>,
) -> Result<StageOutput, StageFailure> {
    let stage = build
        .project
        .stage(name)
        .ok_or_else(|| StageFailure::new(name, "no such stage"))?;
    let (image, mut settings) = resolve_base(build, stage, inputs).await?;
    super::step_record::stage_started(build, stage, &image);
    // The base's ONBUILD triggers run first, and are not inherited.
    let onbuild = trigger_steps(build, stage, &std::mem::take(&mut settings.onbuild))?;
    let trigger_count = onbuild.len();
    // Like Docker's builders, a base without an environment gets the default PATH.
    if settings.env.is_empty() {
        settings
            .env
            .push(("PATH".to_owned(), DEFAULT_PATH.to_owned()));
    }
    let scope = StageScope::new(
        &build.globals,
        &build.options.overrides,
        settings.env.clone(),
    );
    let mut state = StageState {
        stage: name.to_owned(),
        image,
        committed: settings.clone(),
        settings,
        scope,
        workdirs: Vec::new(),
        no_cache: build.no_cache_for(name),
        source_date_epoch: build.options.source_date_epoch,
        sets_cmd: stage.image_configs().any(|config| config.cmd.is_some()),
    };
    // Triggers run as if they were the first instructions after FROM, so
    // before the stage's own settings.
    let triggers: Vec<(usize, &Step)> = onbuild.iter().enumerate().collect();
    run_steps(build, &mut state, &triggers, None, inputs).await?;
    apply_stage_settings(&mut state, stage)?;
    let final_step = StepRef {
        index: stage.steps.len() + trigger_count,
        text: "image configuration".to_owned(),
        span: stage.name.span,
    };
    let steps: Vec<(usize, &Step)> = stage
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| (trigger_count + i, step))
        .collect();
    run_steps(
        build,
        &mut state,
        &steps,
        Some((&final_step, &stage.config)),
        inputs,
    )
    .await?;
    Ok(StageOutput {
        image: state.image,
        settings: state.settings,
    })
}

/// Run `steps` in order, then apply `config` (the stage's image
/// configuration): in the commit of the copies that end the steps, or in
/// one of its own when a RUN ends them or there are none.
async fn run_steps<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &mut StageState,
    steps: &[(usize, &Step)],
    config: Option<(&StepRef, &ImageConfig)>,
    inputs: &BTreeMap<String, StageOutput>,
) -> Result<(), StageFailure> {
    let mut next = 0;
    let mut configured = false;
    while let Some(&(index, step)) = steps.get(next) {
        let text = step_text(&step.kind);
        let at = StepRef {
            index,
            text: text.clone(),
            span: step.span,
        };
        if apply_setting(state, &at, &step.kind)? {
            next += 1;
            continue;
        }
        if let StepKind::Run(run) = &step.kind {
            build.observer.step_started(&state.stage, index, &text);
            // The stage's own last filesystem step makes its files.
            let last = config.is_some() && steps[next + 1..].iter().all(|(_, s)| is_setting(s));
            let early = if last {
                build.early.wanted(&state.stage)
            } else {
                &[]
            };
            run_step::run(build, state, &at, run, inputs, early).await?;
            next += 1;
            continue;
        }
        // Copies up to the next RUN share a container and a commit; at the
        // end of the stage, so does the image configuration.
        let end = steps[next..]
            .iter()
            .position(|(_, s)| matches!(s.kind, StepKind::Run(_)))
            .map_or(steps.len(), |offset| next + offset);
        let group_config = config.filter(|_| end == steps.len());
        configured = group_config.is_some();
        copy_group::run(build, state, &steps[next..end], group_config, inputs).await?;
        next = end;
    }
    if !configured && config.is_some() {
        copy_group::run(build, state, &[], config, inputs).await?;
    }
    Ok(())
}

fn is_setting(step: &Step) -> bool {
    !matches!(
        step.kind,
        StepKind::Run(_) | StepKind::Copy(_) | StepKind::Add(_) | StepKind::Artifact(_)
    )
}

/// The base image's ONBUILD triggers as steps, placed at the stage's
/// `from`, the way Docker runs them right after FROM.
fn trigger_steps<E: StepEngine>(
    build: &NativeBuild<E>,
    stage: &Stage,
    triggers: &[String],
) -> Result<Vec<Step>, StageFailure> {
    let names: Vec<String> = build
        .project
        .stages
        .iter()
        .map(|s| s.name.value.clone())
        .collect();
    let current = names
        .iter()
        .position(|n| *n == stage.name.value)
        .unwrap_or(names.len());
    triggers
        .iter()
        .map(|trigger| {
            crate::convert::trigger_step(trigger, &names, current)
                .map(|kind| Step {
                    kind,
                    span: stage.from.span,
                })
                .map_err(|diagnostic| StageFailure {
                    stage: stage.name.value.clone(),
                    step: Some(format!("ONBUILD {trigger}")),
                    span: Some(stage.from.span),
                    message: format!(
                        "the base image's ONBUILD trigger cannot run here: {}",
                        diagnostic.message
                    ),
                })
        })
        .collect()
}

/// Apply a step that only changes the stage's settings (ENV, ARG, WORKDIR,
/// USER, SHELL); `Ok(false)` for a filesystem step, left to the caller.
pub fn apply_setting(
    state: &mut StageState,
    at: &StepRef,
    kind: &StepKind,
) -> Result<bool, StageFailure> {
    match kind {
        StepKind::Env(pairs) => {
            state
                .scope
                .set_envs(
                    pairs
                        .iter()
                        .map(|(k, v)| (k.value.as_str(), v.value.as_str())),
                )
                .map_err(|e| at.fail(state, e))?;
            state.settings.env = state.scope.env().to_vec();
        }
        StepKind::Arg(decls) => {
            state
                .scope
                .declare_args(decls)
                .map_err(|e| at.fail(state, e))?;
        }
        StepKind::Workdir(dir) => {
            let dir = state
                .scope
                .expand(&dir.value)
                .map_err(|e| at.fail(state, e))?;
            set_workdir(state, &dir);
        }
        StepKind::User(user) => {
            state.settings.user = state
                .scope
                .expand(&user.value)
                .map_err(|e| at.fail(state, e))?;
        }
        StepKind::Shell(words) => state.settings.shell = Some(words.value.clone()),
        StepKind::Config(config) => {
            apply_image_config(&mut state.settings, config, &state.scope, state.sets_cmd)
                .map_err(|e| at.fail(state, e))?;
        }
        StepKind::Run(_) | StepKind::Copy(_) | StepKind::Add(_) | StepKind::Artifact(_) => {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn resolve_base<E: StepEngine>(
    build: &NativeBuild<E>,
    stage: &Stage,
    inputs: &BTreeMap<String, StageOutput>,
) -> Result<(String, ImageSettings), StageFailure> {
    let name = &stage.name.value;
    let fail = |message: String| StageFailure {
        stage: name.clone(),
        step: Some("FROM".to_owned()),
        span: Some(stage.from.span),
        message,
    };
    match &stage.from.value {
        Base::Stage(base) => inputs
            .get(base)
            .map(|output| (output.image.clone(), output.settings.clone()))
            .ok_or_else(|| fail(format!("stage {base} was not built"))),
        Base::Image(reference) => {
            let reference =
                expand_word(reference, build.globals.vars()).map_err(|e| fail(e.to_string()))?;
            if reference == "scratch" {
                let image = build
                    .scratch_image()
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                return Ok((image, ImageSettings::default()));
            }
            match build.engine.inspect_image(&reference).await {
                Ok(Some(details)) => Ok((details.id, details.settings)),
                Ok(None) => Err(fail(format!(
                    "image {reference} is not on the Engine, though the build pulls the \
                     images it reads before its first step; was it removed meanwhile?"
                ))),
                Err(error) => Err(fail(error.to_string())),
            }
        }
    }
}

fn apply_stage_settings(state: &mut StageState, stage: &Stage) -> Result<(), StageFailure> {
    let fail = |state: &StageState, error: super::expand::ExpandError| StageFailure {
        stage: state.stage.clone(),
        step: None,
        span: Some(stage.name.span),
        message: error.to_string(),
    };
    state
        .scope
        .declare_args(&stage.args)
        .map_err(|e| fail(state, e))?;
    state
        .scope
        .set_envs(
            stage
                .env
                .iter()
                .map(|(k, v)| (k.value.as_str(), v.value.as_str())),
        )
        .map_err(|e| fail(state, e))?;
    state.settings.env = state.scope.env().to_vec();
    if let Some(dir) = &stage.workdir {
        let dir = state.scope.expand(&dir.value).map_err(|e| fail(state, e))?;
        set_workdir(state, &dir);
    }
    if let Some(user) = &stage.user {
        state.settings.user = state
            .scope
            .expand(&user.value)
            .map_err(|e| fail(state, e))?;
    }
    if let Some(shell) = &stage.shell {
        state.settings.shell = Some(shell.value.clone());
    }
    Ok(())
}

/// WORKDIR: relative paths are under the current one. An absolute path
/// is kept as written (`/bin/` stays `/bin/`), as the classic builder
/// keeps it in the image's WorkingDir; only a relative one is joined and
/// cleaned.
fn set_workdir(state: &mut StageState, dir: &str) {
    let base = if state.settings.workdir.is_empty() {
        "/"
    } else {
        &state.settings.workdir
    };
    let absolute = super::copy::absolute_dest(base, dir);
    state.settings.workdir = if dir.starts_with('/') {
        dir.to_owned()
    } else {
        absolute.clone()
    };
    if !state.workdirs.contains(&absolute) {
        state.workdirs.push(absolute);
    }
}
