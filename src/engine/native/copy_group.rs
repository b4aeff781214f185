//! A run of copies (COPY, ADD, artifact copies and the settings between
//! them), and the stage's image configuration when the run ends the stage,
//! applied in one container and committed once. Each copy step and each
//! commit cost the Engine a container and a layer; a stage that gathers
//! files from several stages pays them once.
//!
//! Keys chain inside the group: the first step's parent is the image the
//! group starts from, each later step's parent is the key before it. The
//! commit carries the last key, so a warm rebuild finds the group with one
//! look-up. Look-ups go from the last member back, so when an earlier build
//! committed a shorter group (a copy was appended since, before a RUN), only
//! the new steps run; a change in one copy redoes the group's copies, which
//! is cheap next to a container and a commit per step.

use std::collections::BTreeMap;

use super::build::{NativeBuild, StageFailure, StageOutput};
use super::copy_step::{self, FetchedPath, PreparedCopy};
use super::engine_api::{OpError, StepEngine};
use super::group_container::GroupContainer;
use super::owner::Owner;
use super::step_common::{StageState, StepRef, cached, commit, idle_container};
use super::step_record::{self, StepInputs};
use super::step_text::step_text;
use crate::config::model::{ImageConfig, Step};
use crate::engine::build_record::Reason;

/// What one planned member of a group does.
enum Work {
    Copy(PreparedCopy),
    /// The image configuration and the stage's WORKDIRs.
    Configure,
}

/// One member of the group, with the stage as it is at that point.
struct Planned {
    at: StepRef,
    /// The stage after this member's settings; its `image` is the key
    /// chain's parent, not an image.
    state: StageState,
    key: String,
    work: Work,
}

/// Run `steps` (copies and settings only, maybe none) from `state`; with
/// `config`, the stage's image configuration is applied too, as the member
/// after them (skipped when it would change nothing).
pub async fn run<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &mut StageState,
    steps: &[(usize, &Step)],
    config: Option<(&StepRef, &ImageConfig)>,
    inputs: &BTreeMap<String, StageOutput>,
) -> Result<(), StageFailure> {
    let (planned, after) = plan(build, state, steps, config, inputs).await?;
    let Some(last) = planned.last() else {
        *state = after;
        return Ok(());
    };
    let (start, image) = match newest_cached(build, state, &planned).await? {
        Some((position, image)) => (position + 1, image),
        None => (0, state.image.clone()),
    };
    for member in &planned[..start] {
        note(build, member, true);
        report_cached(build, state, member);
    }
    let reasons: Vec<Vec<Reason>> = planned[start..]
        .iter()
        .map(|member| note(build, member, false))
        .collect();
    let image = if start == planned.len() {
        image
    } else {
        execute(build, &image, &planned[start..], &reasons).await?
    };
    // Settings after the last copy are the next commit's to make.
    *state = StageState {
        image,
        committed: last.state.settings.clone(),
        ..after
    };
    Ok(())
}

/// Expand every member and compute its key, without the Engine but for
/// image look-ups; also the stage's settings after the group.
async fn plan<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    steps: &[(usize, &Step)],
    config: Option<(&StepRef, &ImageConfig)>,
    inputs: &BTreeMap<String, StageOutput>,
) -> Result<(Vec<Planned>, StageState), StageFailure> {
    let mut current = state.clone();
    let mut planned: Vec<Planned> = Vec::new();
    for (index, step) in steps {
        let at = StepRef {
            index: *index,
            text: step_text(&step.kind),
            span: step.span,
        };
        if super::stage_exec::apply_setting(&mut current, &at, &step.kind)? {
            continue;
        }
        if let Some(previous) = planned.last() {
            current.image.clone_from(&previous.key);
        }
        let prepared = copy_step::prepare(build, &current, &at, &step.kind, inputs).await?;
        planned.push(Planned {
            at,
            state: current.clone(),
            key: prepared.key.clone(),
            work: Work::Copy(prepared),
        });
    }
    if let Some((at, config)) = config {
        super::config_step::final_settings(&mut current, config)
            .map_err(|e| at.fail(&current, e))?;
        let unchanged = current.settings == current.committed && current.workdirs.is_empty();
        if !(planned.is_empty() && unchanged) {
            if let Some(previous) = planned.last() {
                current.image.clone_from(&previous.key);
            }
            let key = super::config_step::key(&current);
            planned.push(Planned {
                at: at.clone(),
                state: current.clone(),
                key,
                work: Work::Configure,
            });
        }
    }
    Ok((planned, current))
}

/// The last member whose key an earlier build committed, and its image.
async fn newest_cached<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    planned: &[Planned],
) -> Result<Option<(usize, String)>, StageFailure> {
    for (position, member) in planned.iter().enumerate().rev() {
        let found = cached(build, state, &member.key)
            .await
            .map_err(|e| member.at.fail(&member.state, e))?;
        if let Some(image) = found {
            return Ok(Some((position, image)));
        }
    }
    Ok(None)
}

/// Tell the build record about a member; why it missed, if it did.
fn note<E: StepEngine>(build: &NativeBuild<E>, member: &Planned, cached: bool) -> Vec<Reason> {
    let inputs = match &member.work {
        Work::Copy(copy) => (*copy.recorded).clone(),
        Work::Configure => StepInputs {
            other: member.state.workdirs.clone(),
            ..StepInputs::default()
        },
    };
    step_record::note(
        build,
        &member.state,
        &member.at,
        &member.key,
        inputs,
        cached,
    )
}

fn report_cached<E: StepEngine>(build: &NativeBuild<E>, state: &StageState, member: &Planned) {
    build
        .observer
        .step_started(&state.stage, member.at.index, &member.at.text);
    build.observer.step_cached(&state.stage, member.at.index);
}

/// Apply `members` in one container of `image`, commit it with the last
/// member's settings and key, and remove the container whatever happened.
/// What the copies read from other images is fetched at once, while the
/// container is created; what they write is sent in one upload
/// (`GroupContainer`).
async fn execute<E: StepEngine>(
    build: &NativeBuild<E>,
    image: &str,
    members: &[Planned],
    reasons: &[Vec<Reason>],
) -> Result<String, StageFailure> {
    let (Some(first), Some(last)) = (members.first(), members.last()) else {
        return Ok(image.to_owned());
    };
    let fetches = futures_util::future::join_all(members.iter().map(|member| async move {
        match &member.work {
            Work::Copy(copy) => copy_step::fetch(build, copy)
                .await
                .map_err(|e| member.at.fail(&member.state, e)),
            Work::Configure => Ok(Vec::new()),
        }
    }));
    let created = build.create_container(idle_container(image, build.container_labels()));
    let (fetched, created) = futures_util::future::join(fetches, created).await;
    let container = created.map_err(|e| first.at.fail(&first.state, e))?;
    let outcome = async {
        let mut target = GroupContainer::new(build, container.clone());
        // The copies ask about their destinations one by one; the first
        // answers come in one round.
        let probes: Vec<String> = members
            .iter()
            .flat_map(|member| match &member.work {
                Work::Copy(copy) => copy_step::probe_paths(&member.state, copy),
                Work::Configure => member.state.workdirs.clone(),
            })
            .collect();
        target.ask_ahead(&probes).await;
        for ((member, fetched), reasons) in members.iter().zip(fetched).zip(reasons) {
            let fetched = fetched?;
            build
                .observer
                .step_started(&member.state.stage, member.at.index, &member.at.text);
            step_record::tell(build, &member.state.stage, &member.at, reasons);
            apply(build, member, &fetched, &mut target)
                .await
                .map_err(|e| member.at.fail(&member.state, e))?;
        }
        target
            .flush()
            .await
            .map_err(|e| last.at.fail(&last.state, e))?;
        commit(
            build,
            &last.state,
            target.id(),
            &last.key,
            &last.at.text,
            &[],
        )
        .await
        .map_err(|e| last.at.fail(&last.state, e))
    }
    .await;
    let removed = build.engine.remove_container(&container).await;
    let image = outcome?;
    removed.map_err(|e| last.at.fail(&last.state, e))?;
    Ok(image)
}

async fn apply<E: StepEngine>(
    build: &NativeBuild<E>,
    member: &Planned,
    fetched: &[FetchedPath],
    target: &mut GroupContainer<'_, E>,
) -> Result<(), OpError> {
    match &member.work {
        Work::Copy(copy) => copy_step::apply(build, &member.state, copy, fetched, target).await,
        // Docker creates them root's.
        Work::Configure => {
            copy_step::create_missing_dirs(
                target,
                &member.state.workdirs,
                Owner::default(),
                "workdir",
            )
            .await
        }
    }
}
