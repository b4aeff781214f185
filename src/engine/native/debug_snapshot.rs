//! The Engine's side of `stages build --debug`: a container standing in
//! for a failed RUN (its image, environment, workdir, user and mounts,
//! with the failed command as a script at `FAILED_SCRIPT`), and, when no
//! terminal can drive a shell, a snapshot image of that state with the
//! `docker run` command that reproduces it.
//!
//! Everything made here carries `DEBUG_LABEL` (the project's id): the
//! interactive container also the build's label, so that a killed `stages`
//! leaves nothing the next build's sweep misses; snapshot images are
//! removed by `stages cache prune`.

use std::collections::BTreeMap;
use std::path::Path;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::CreateContainerOptionsBuilder;

use crate::engine::client::DockerEngine;
use crate::engine::native::cache_key::BUILD_LABEL;
use crate::engine::native::docker_adapter::{mount, op};
use crate::engine::native::engine_api::{
    ContainerSpec, ImageSettings, MountSpec, OpError, StepEngine,
};
use crate::engine::native::failed_run::{FAILED_SCRIPT, FailedRun, shell_word};

/// Label on debug containers and snapshot images: the project's id.
pub const DEBUG_LABEL: &str = "dev.stages.debug";
/// Label naming the stage whose failed step a snapshot image holds.
pub const DEBUG_STAGE_LABEL: &str = "dev.stages.debug.stage";
/// The repository snapshot images are tagged in.
pub const DEBUG_REPOSITORY: &str = "stages-debug";

/// Create (not start) the container of an interactive shell in `run`'s
/// state, its stdin and a terminal attached.
pub async fn create_shell_container(
    engine: &DockerEngine,
    run: &FailedRun,
) -> Result<String, OpError> {
    let mut env = run.env.clone();
    for (name, file) in &run.secret_env {
        let value = std::fs::read_to_string(file).map_err(|error| {
            OpError::new(
                "read secret",
                format!("{name} ({}): {error}", file.display()),
            )
        })?;
        env.push(format!("{name}={value}"));
    }
    let body = ContainerCreateBody {
        image: Some(run.image.clone()),
        // As for the RUN: the image's ENTRYPOINT (and so its CMD) is not used.
        entrypoint: Some(vec![run.shell.clone()]),
        env: Some(env),
        working_dir: run.workdir.clone(),
        user: run.user.clone(),
        tty: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(true),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        labels: Some(labels(run).into_iter().collect()),
        host_config: Some(HostConfig {
            mounts: Some(run.mounts.iter().map(|m| mount(&m.spec)).collect()),
            network_mode: run.network_mode.clone(),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let id = engine
        .docker()
        .create_container(Some(CreateContainerOptionsBuilder::new().build()), body)
        .await
        .map(|created| created.id)
        .map_err(op("create the debug container"))?;
    if let Err(error) = engine.upload_into(&id, "/", script_tar(run)?).await {
        let _ = engine.remove_container(&id).await;
        return Err(error);
    }
    Ok(id)
}

/// The labels of a debug container.
fn labels(run: &FailedRun) -> BTreeMap<String, String> {
    BTreeMap::from([
        (DEBUG_LABEL.to_owned(), run.project_id.clone()),
        (DEBUG_STAGE_LABEL.to_owned(), run.stage.clone()),
        (BUILD_LABEL.to_owned(), run.build_id.clone()),
    ])
}

/// A tar holding `FAILED_SCRIPT` (and its directory), to extract at `/`.
fn script_tar(run: &FailedRun) -> Result<Vec<u8>, OpError> {
    let fail = |error: std::io::Error| OpError::new("write the failed command", error.to_string());
    let (dir, _) = FAILED_SCRIPT
        .trim_start_matches('/')
        .rsplit_once('/')
        .unwrap_or(("", ""));
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_size(0);
    builder
        .append_data(&mut header, format!("{dir}/"), std::io::empty())
        .map_err(fail)?;
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o755);
    header.set_size(run.script.len() as u64);
    builder
        .append_data(
            &mut header,
            FAILED_SCRIPT.trim_start_matches('/'),
            run.script.as_bytes(),
        )
        .map_err(fail)?;
    builder.into_inner().map_err(fail)
}

/// A tar of the build's copies for bind mounts, each at its target: a
/// snapshot outlives the build's scratch directory, so it holds them.
fn copies_tar(run: &FailedRun) -> Result<Vec<u8>, OpError> {
    let fail = |error: std::io::Error| OpError::new("copy a bind mount", error.to_string());
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    for debug_mount in run.mounts.iter().filter(|m| m.build_copy) {
        let MountSpec::Bind { source, target, .. } = &debug_mount.spec else {
            continue;
        };
        let name = target.trim_start_matches('/');
        let source = Path::new(source);
        if source.is_dir() {
            builder.append_dir_all(name, source).map_err(fail)?;
        } else {
            builder.append_path_with_name(source, name).map_err(fail)?;
        }
    }
    builder.into_inner().map_err(fail)
}

/// The tag of the snapshot image of a build's failed step.
pub fn snapshot_tag(run: &FailedRun) -> String {
    format!("{DEBUG_REPOSITORY}/{}:{}", run.project_id, run.build_id)
}

/// Commit `run`'s state (with the failed command's script and the build's
/// bind-mount copies) as a labelled, tagged image; returns its tag.
pub async fn keep_snapshot(engine: &DockerEngine, run: &FailedRun) -> Result<String, OpError> {
    let spec = ContainerSpec {
        image: run.image.clone(),
        entrypoint: Some(vec!["stages-never-started".to_owned()]),
        labels: labels(run),
        network_mode: Some("none".to_owned()),
        ..ContainerSpec::default()
    };
    let container = engine.create_container(spec).await?;
    let committed = async {
        engine
            .upload_into(&container, "/", script_tar(run)?)
            .await?;
        if run.mounts.iter().any(|m| m.build_copy) {
            engine
                .upload_into(&container, "/", copies_tar(run)?)
                .await?;
        }
        let mut labels = labels(run);
        // The Engine copies the container's labels into the image: a
        // container run from the snapshot is no build's.
        labels.insert(BUILD_LABEL.to_owned(), String::new());
        let settings = ImageSettings {
            env: run
                .env
                .iter()
                .map(|entry| match entry.split_once('=') {
                    Some((k, v)) => (k.to_owned(), v.to_owned()),
                    None => (entry.clone(), String::new()),
                })
                .collect(),
            cmd: Some(vec![run.shell.clone()]),
            workdir: run.workdir.clone().unwrap_or_default(),
            user: run.user.clone().unwrap_or_default(),
            labels,
            ..ImageSettings::default()
        };
        let image = engine.commit(&container, &settings).await?;
        let tag = snapshot_tag(run);
        engine.tag_image(&image, &tag).await?;
        Ok::<_, OpError>(tag)
    }
    .await;
    let removed = engine.remove_container(&container).await;
    let tag = committed?;
    removed?;
    Ok(tag)
}

/// The `docker run` command that opens a shell in a snapshot image: the
/// image has the environment, workdir and user; the mounts, the network
/// and the secrets given as variables come on the command line.
pub fn docker_run_command(run: &FailedRun, tag: &str) -> String {
    let mut words: Vec<String> = ["docker", "run", "--rm", "-it"]
        .iter()
        .map(|w| (*w).to_owned())
        .collect();
    if let Some(network) = &run.network_mode {
        words.push(format!("--network={}", shell_word(network)));
    }
    for (name, file) in &run.secret_env {
        // The value stays in its file, out of the command and the image.
        words.push("-e".to_owned());
        words.push(format!(
            "{name}=\"$(cat {})\"",
            shell_word(&file.display().to_string())
        ));
    }
    for debug_mount in run.mounts.iter().filter(|m| !m.build_copy) {
        let option = match &debug_mount.spec {
            MountSpec::Volume {
                name,
                target,
                readonly,
            } => format!(
                "type=volume,src={name},dst={target}{}",
                if *readonly { ",readonly" } else { "" }
            ),
            MountSpec::Bind {
                source,
                target,
                readonly,
            } => format!(
                "type=bind,src={source},dst={target}{}",
                if *readonly { ",readonly" } else { "" }
            ),
            MountSpec::Tmpfs { target, size } => match size {
                Some(bytes) => format!("type=tmpfs,dst={target},tmpfs-size={bytes}"),
                None => format!("type=tmpfs,dst={target}"),
            },
        };
        words.push("--mount".to_owned());
        words.push(shell_word(&option));
    }
    words.push(shell_word(tag));
    words.join(" ")
}

/// Remove the snapshot images of `project` (of every project when `None`);
/// returns how many went.
pub async fn remove_snapshots(
    engine: &DockerEngine,
    project: Option<&str>,
) -> Result<usize, OpError> {
    let images = engine.images_with_label(DEBUG_LABEL, project).await?;
    let mut removed = 0;
    for image in images {
        let mut references = image.tags.clone();
        if references.is_empty() {
            references.push(image.id.clone());
        }
        for reference in references {
            match engine.remove_image(&reference).await {
                Ok(()) => {}
                Err(error) if error.not_found => {}
                Err(error) => return Err(error),
            }
        }
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::native::failed_run::DebugMount;
    use std::sync::Arc;

    fn failed(mounts: Vec<DebugMount>) -> FailedRun {
        FailedRun {
            stage: "build".into(),
            step: "RUN make".into(),
            span: crate::located::Span::default(),
            exit_code: 2,
            image: "sha256:abc".into(),
            env: vec!["PATH=/bin".into()],
            secret_env: vec![("TOKEN".into(), "/home/me/token file".into())],
            workdir: Some("/src".into()),
            user: None,
            network_mode: Some("none".into()),
            mounts,
            shell: "/bin/sh".into(),
            script: String::new(),
            project_id: "0123abcd".into(),
            build_id: "42-ff".into(),
            workspace: Arc::new(tempfile::tempdir().expect("a temporary directory")),
        }
    }

    #[test]
    fn the_command_mounts_what_the_step_mounted_but_the_build_copies() {
        let run = failed(vec![
            DebugMount {
                spec: MountSpec::Volume {
                    name: "stages-cache-1".into(),
                    target: "/root/.cache".into(),
                    readonly: false,
                },
                build_copy: false,
            },
            DebugMount {
                spec: MountSpec::Bind {
                    source: "/tmp/x/mount".into(),
                    target: "/src".into(),
                    readonly: true,
                },
                build_copy: true,
            },
            DebugMount {
                spec: MountSpec::Tmpfs {
                    target: "/tmp".into(),
                    size: None,
                },
                build_copy: false,
            },
        ]);
        let tag = snapshot_tag(&run);
        assert_eq!(tag, "stages-debug/0123abcd:42-ff");
        assert_eq!(
            docker_run_command(&run, &tag),
            "docker run --rm -it --network=none -e TOKEN=\"$(cat '/home/me/token file')\" \
             --mount type=volume,src=stages-cache-1,dst=/root/.cache \
             --mount type=tmpfs,dst=/tmp stages-debug/0123abcd:42-ff"
        );
    }

    #[test]
    fn the_script_tar_holds_the_script_and_its_directory() {
        let mut run = failed(vec![]);
        run.script = "#!/bin/sh\nexec false\n".into();
        let tar = script_tar(&run).expect("a tar");
        let mut archive = tar::Archive::new(&tar[..]);
        let names: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("an entry")
                    .path()
                    .expect("a path")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, [".stages-debug/", ".stages-debug/failed.sh"]);
    }
}
