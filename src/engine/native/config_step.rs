//! The end of a stage: its image configuration applied, the WORKDIRs it set
//! created when missing (Docker creates them), and one commit when the
//! image's configuration differs from what it should be.

use super::archive::{EntryKind, TarEntry, TarWriter};
use super::build::{NativeBuild, StageFailure};
use super::engine_api::{OpError, StepEngine};
use super::owner::Owner;
use super::settings::apply_image_config;
use super::step_common::{StageState, StepRef, cached, commit, idle_container, with_container};
use crate::config::model::ImageConfig;

pub async fn finish<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &mut StageState,
    at: &StepRef,
    config: &ImageConfig,
) -> Result<(), StageFailure> {
    apply_image_config(&mut state.settings, config, &state.scope).map_err(|e| at.fail(state, e))?;
    if state.settings == state.committed && state.workdirs.is_empty() {
        return Ok(());
    }
    build
        .observer
        .step_started(&state.stage, at.index, &at.text);
    let key = state.key("CONFIG", Vec::new(), state.workdirs.clone());
    if let Some(image) = cached(build, state, &key)
        .await
        .map_err(|e| at.fail(state, e))?
    {
        state.image = image;
        state.committed = state.settings.clone();
        build.observer.step_cached(&state.stage, at.index);
        return Ok(());
    }
    let snapshot: &StageState = state;
    let key_ref = &key;
    let image = with_container(
        build,
        idle_container(&snapshot.image, build.container_labels()),
        |id| async move {
            let mut missing = Vec::new();
            for dir in &snapshot.workdirs {
                if build.engine.path_kind(&id, dir).await?.is_none() {
                    missing.push(dir.clone());
                }
            }
            if !missing.is_empty() {
                let mut writer = TarWriter::new(Owner::default(), None);
                for dir in missing {
                    writer
                        .add_entry(TarEntry {
                            path: dir,
                            kind: EntryKind::Dir,
                            mode: 0o755,
                            owner: Owner::default(),
                            mtime: 0,
                            keep_owner: true,
                        })
                        .map_err(|e| OpError::new("workdir", e.to_string()))?;
                }
                let plan = writer
                    .finish()
                    .map_err(|e| OpError::new("workdir", e.to_string()))?;
                build.engine.upload(&id, plan.tar).await?;
            }
            commit(build, snapshot, &id, key_ref, &at.text).await
        },
    )
    .await
    .map_err(|e| at.fail(state, e))?;
    state.image = image;
    state.committed = state.settings.clone();
    Ok(())
}
