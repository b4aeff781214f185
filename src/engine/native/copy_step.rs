//! COPY, ADD and artifact copies as steps, in two halves: `prepare`
//! expands the words, resolves the source and computes the key (from the
//! planned content for the context, from the source image id and paths for
//! `--from` and artifacts) without touching the stage's container; `apply`
//! writes the files into a container the caller owns (see `copy_group`,
//! which commits). `--chown` names are looked up in that container's own
//! `/etc/passwd` and `/etc/group`.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::archive::{EntryKind, TarEntry, TarWriter};
use super::build::{NativeBuild, StageFailure, StageOutput};
use super::cache_key::image_path_input;
use super::copy::{CopyError, CopyPlan, CopyRequest, absolute_dest, ends_as_dir, plan_copy};
use super::copy_in_turn::{InTurn, copied_in_turn};
use super::engine_api::{OpError, PathKind, StepEngine};
use super::group_container::{GroupContainer, within};
use super::image_wildcard::expand_in_image;
use super::owner::{Owner, needs_lookup, parse_chmod, resolve_chown};
use super::pathmatch::has_wildcard;
use super::retarget::{retarget, tar_is_directory};
use super::source_link::download_followed;
use super::step_common::{StageState, StepRef, idle_container, with_container};
use super::step_record::StepInputs;
use crate::config::model::{CopyFrom, CopyOptions, StepKind};
use crate::engine::build_record::UpstreamRecord;
use crate::located::Located;

/// One copy, with its words expanded.
#[derive(Debug, Clone)]
struct Expanded {
    sources: Vec<String>,
    dest: String,
    chown: Option<String>,
    chmod: Option<u32>,
    exclude: Vec<String>,
}

impl Expanded {
    /// The words as the step reads them now: sources, destination, owner, mode.
    fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(chown) = &self.chown {
            out.push_str(&format!("--chown={chown} "));
        }
        if let Some(chmod) = self.chmod {
            out.push_str(&format!("--chmod={chmod:o} "));
        }
        for exclude in &self.exclude {
            out.push_str(&format!("--exclude={exclude} "));
        }
        out.push_str(&self.sources.join(" "));
        out.push(' ');
        out.push_str(&self.dest);
        out
    }
}

fn expand(
    state: &StageState,
    at: &StepRef,
    sources: &[Located<String>],
    to: &Located<String>,
    options: &CopyOptions,
    exclude: &[Located<String>],
) -> Result<Expanded, StageFailure> {
    let word = |w: &str| state.scope.expand(w).map_err(|e| at.fail(state, e));
    let chmod = match &options.chmod {
        Some(mode) => Some(parse_chmod(&word(&mode.value)?).map_err(|e| at.fail(state, e))?),
        None => None,
    };
    Ok(Expanded {
        sources: sources
            .iter()
            .map(|s| word(&s.value))
            .collect::<Result<_, _>>()?,
        dest: word(&to.value)?,
        chown: options.chown.as_ref().map(|c| word(&c.value)).transpose()?,
        chmod,
        exclude: exclude
            .iter()
            .map(|s| word(&s.value))
            .collect::<Result<_, _>>()?,
    })
}

/// A copy step ready to apply.
#[derive(Debug, Clone)]
pub struct PreparedCopy {
    words: Expanded,
    source: CopySource,
    /// The step's cache key.
    pub key: String,
    /// What the key was made of, for the build record.
    pub recorded: Box<StepInputs>,
}

#[derive(Debug, Clone)]
enum CopySource {
    /// The build context; ADD extracts local archives.
    Context { extract: bool },
    /// Absolute paths in another image (a stage, `from-image`, an artifact).
    Image { image: String, paths: Vec<String> },
}

/// Expand a copy step in `state`, resolve its source and compute its key
/// (with `state.image` as the parent).
pub async fn prepare<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    at: &StepRef,
    kind: &StepKind,
    inputs: &BTreeMap<String, StageOutput>,
) -> Result<PreparedCopy, StageFailure> {
    match kind {
        StepKind::Copy(copy) => {
            if copy.parents {
                return Err(at.fail(
                    state,
                    "COPY --parents is not supported by the native back end",
                ));
            }
            let words = expand(
                state,
                at,
                &copy.sources,
                &copy.to,
                &copy.options,
                &copy.exclude,
            )?;
            match &copy.from {
                None => from_context(build, state, at, words, false).await,
                Some(CopyFrom::Stage(stage)) => {
                    let image = inputs
                        .get(&stage.value)
                        .map(|o| o.image.clone())
                        .ok_or_else(|| {
                            at.fail(state, format!("stage {} was not built", stage.value))
                        })?;
                    let source = upstream(&stage.value, true, &image);
                    from_image(state, at, source, words)
                }
                Some(CopyFrom::Image(reference)) => {
                    let reference = state
                        .scope
                        .expand(&reference.value)
                        .map_err(|e| at.fail(state, e))?;
                    let details = build
                        .engine
                        .inspect_image(&reference)
                        .await
                        .map_err(|e| at.fail(state, e))?
                        .ok_or_else(|| {
                            at.fail(
                                state,
                                format!("image {reference} is not on the Engine; pull it first"),
                            )
                        })?;
                    let source = upstream(&reference, false, &details.id);
                    from_image(state, at, source, words)
                }
            }
        }
        StepKind::Add(add) => {
            if add.parents || add.checksum.is_some() || add.keep_git_dir {
                return Err(at.fail(
                    state,
                    "ADD --parents, --checksum and --keep-git-dir are not supported by the native back end",
                ));
            }
            if let Some(url) = add
                .sources
                .iter()
                .find(|s| s.value.contains("://") || s.value.starts_with("git@"))
            {
                return Err(at.fail(
                    state,
                    format!(
                        "ADD from a URL or git ({}) is not supported by the native back end",
                        url.value
                    ),
                ));
            }
            let words = expand(state, at, &add.sources, &add.to, &add.options, &add.exclude)?;
            from_context(build, state, at, words, true).await
        }
        StepKind::Artifact(copy) => {
            let artifact = build
                .project
                .artifact(&copy.artifact.value)
                .ok_or_else(|| at.fail(state, format!("no artifact {}", copy.artifact.value)))?;
            let image = inputs
                .get(&artifact.stage.value)
                .map(|o| o.image.clone())
                .ok_or_else(|| {
                    at.fail(
                        state,
                        format!("stage {} was not built", artifact.stage.value),
                    )
                })?;
            let words = expand(
                state,
                at,
                std::slice::from_ref(&artifact.path),
                &copy.to,
                &copy.options,
                &[],
            )?;
            let mut source = upstream(&artifact.stage.value, true, &image);
            source.via = format!("COPY --artifact={}", copy.artifact.value);
            from_image(state, at, source, words)
        }
        _ => Err(at.fail(state, "not a copy step")),
    }
}

async fn from_context<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    at: &StepRef,
    words: Expanded,
    extract: bool,
) -> Result<PreparedCopy, StageFailure> {
    // The key's plan uses root and a file destination: the real owner and
    // destination kind follow from the parent image, which the key holds.
    let probe = plan(build, state, &words, extract, Owner::default(), false)
        .await
        .map_err(|e| at.fail(state, e))?;
    let key = state.key(&at.text, Vec::new(), vec![probe.digest.clone()]);
    let recorded = Box::new(StepInputs {
        expanded: Some(words.describe()),
        files: probe.sources,
        context_digest: Some(probe.digest),
        ..StepInputs::default()
    });
    Ok(PreparedCopy {
        words,
        source: CopySource::Context { extract },
        key,
        recorded,
    })
}

/// The stage or image a copy reads, for the build record.
fn upstream(name: &str, stage: bool, image: &str) -> UpstreamRecord {
    UpstreamRecord {
        name: name.to_owned(),
        stage,
        image: image.to_owned(),
        via: format!("COPY --from={name}"),
    }
}

fn from_image(
    state: &StageState,
    at: &StepRef,
    source: UpstreamRecord,
    words: Expanded,
) -> Result<PreparedCopy, StageFailure> {
    let image = source.image.clone();
    // A wildcard's matches follow from the image and the pattern, both in
    // the key; they are found when the files are fetched.
    let paths: Vec<String> = words
        .sources
        .iter()
        .map(|s| absolute_dest("/", s))
        .collect();
    let inputs = paths.iter().map(|s| image_path_input(&image, s)).collect();
    let key = state.key(&at.text, Vec::new(), inputs);
    let recorded = Box::new(StepInputs {
        expanded: Some(words.describe()),
        upstream: vec![source],
        ..StepInputs::default()
    });
    Ok(PreparedCopy {
        words,
        source: CopySource::Image { image, paths },
        key,
        recorded,
    })
}

/// One source path of a copy from another image (a wildcard's match, or
/// the path as written) and the tar of it.
#[derive(Debug, Clone)]
pub struct FetchedPath {
    pub path: String,
    pub tar: Vec<u8>,
}

/// What a copy needs from outside the stage's container before it can be
/// applied: the tars of its paths in another image (none for the context).
/// Fetching is independent of the stage, so a group fetches all at once.
pub async fn fetch<E: StepEngine>(
    build: &NativeBuild<E>,
    copy: &PreparedCopy,
) -> Result<Vec<FetchedPath>, OpError> {
    match &copy.source {
        CopySource::Context { .. } => Ok(Vec::new()),
        CopySource::Image { image, paths } => download(build, image, paths).await,
    }
}

/// The paths `apply` asks the container about first: the destination and
/// the directories above it.
pub fn probe_paths(state: &StageState, copy: &PreparedCopy) -> Vec<String> {
    let mut paths = Vec::new();
    let mut path = absolute_dest(workdir(state), &copy.words.dest);
    while let Some((parent, _)) = path.rsplit_once('/') {
        if path != "/" && !path.is_empty() {
            paths.push(path.clone());
        }
        path = parent.to_owned();
    }
    paths
}

/// Write the files of a prepared copy into `container`, whose file system
/// is the stage's as `state` describes it; `fetched` is what `fetch` gave.
pub async fn apply<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    copy: &PreparedCopy,
    fetched: &[FetchedPath],
    container: &mut GroupContainer<'_, E>,
) -> Result<(), OpError> {
    let words = &copy.words;
    let owner = resolve_owner(container, words.chown.as_deref()).await?;
    let dest = absolute_dest(workdir(state), &words.dest);
    let dest_is_dir =
        !ends_as_dir(&words.dest) && container.path_kind(&dest).await? == Some(PathKind::Dir);
    let planned = match &copy.source {
        CopySource::Context { extract } => plan(build, state, words, *extract, owner, dest_is_dir)
            .await
            .map_err(|e| OpError::new("copy", e.to_string()))?,
        CopySource::Image { .. } => {
            let failed = |e: CopyError| OpError::new("copy", e.to_string());
            let mut fetched = fetched;
            let mut into_dir = ends_as_dir(&words.dest) || dest_is_dir;
            if fetched.len() > 1 && !into_dir {
                let makes_directory = fetched
                    .iter()
                    .map(|source| tar_is_directory(&source.tar, &source.path))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(failed)?;
                match copied_in_turn(&makes_directory) {
                    InTurn::IntoDirectory => into_dir = true,
                    InTurn::LastFile(last) => fetched = &fetched[last..],
                    InTurn::DirectoryOverFile(index) => {
                        return Err(failed(CopyError::DirectoryOverFile {
                            path: fetched[index].path.clone(),
                            dest,
                        }));
                    }
                }
            }
            let mut writer = TarWriter::new(owner, words.chmod);
            for source in fetched {
                retarget(&source.tar, &source.path, &dest, into_dir, &mut writer)
                    .map_err(|e| OpError::new("copy", e.to_string()))?;
            }
            writer
                .finish()
                .map_err(|e| OpError::new("copy", e.to_string()))?
        }
    };
    refuse_links_of_the_image(container, &planned).await?;
    create_missing_parents(container, &planned, owner).await?;
    container.add(planned.tar);
    Ok(())
}

/// The Engine's upload would follow a link of the image that an extracted
/// entry is written under, maybe out of the destination; the classic
/// builder would resolve it inside the destination. Neither is known here
/// to be what the image holds, so such an entry is refused.
async fn refuse_links_of_the_image<E: StepEngine>(
    container: &mut GroupContainer<'_, E>,
    planned: &CopyPlan,
) -> Result<(), OpError> {
    for dir in &planned.implied_dirs {
        let found = match container.path_kind(&dir.path).await? {
            Some(PathKind::Symlink) => "a link",
            Some(PathKind::File) => "a file",
            Some(PathKind::Dir) | None => continue,
        };
        return Err(OpError::new(
            "copy",
            format!(
                "archive {}: entry {:?} is refused: it goes through {}, which is {found} in the image; the native back end does not follow the image's links when it extracts an archive",
                dir.archive, dir.entry, dir.path
            ),
        ));
    }
    Ok(())
}

/// Tars of `paths` in `image` (a path that is a link read through it, a
/// wildcard each of its matches), read through a container that is never
/// started.
async fn download<E: StepEngine>(
    build: &NativeBuild<E>,
    image: &str,
    paths: &[String],
) -> Result<Vec<FetchedPath>, OpError> {
    // Only literal paths are read early: a wildcard is matched here.
    if let Some(tars) = build.early.take(image, paths) {
        return Ok(paths
            .iter()
            .zip(tars)
            .map(|(path, tar)| FetchedPath {
                path: path.clone(),
                tar,
            })
            .collect());
    }
    with_container(
        build,
        idle_container(image, build.container_labels()),
        |id| async move {
            let mut fetched = Vec::new();
            for source in paths {
                let matched = if has_wildcard(source) {
                    expand_in_image(&*build.engine, &id, source).await?
                } else {
                    vec![source.clone()]
                };
                for path in matched {
                    let tar = download_followed(&*build.engine, &id, &path).await?;
                    fetched.push(FetchedPath { path, tar });
                }
            }
            Ok(fetched)
        },
    )
    .await
}

/// Plan a copy from the context on a blocking thread: reading the context
/// never holds up the runtime, and when the build drops the step (a
/// failure elsewhere, Ctrl-C), the reading stops at the next file or chunk.
async fn plan<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    words: &Expanded,
    extract: bool,
    owner: Owner,
    dest_is_dir: bool,
) -> Result<CopyPlan, CopyError> {
    struct CancelOnDrop(Arc<AtomicBool>);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let context = build.options.context_dir.clone();
    let filter = Arc::clone(&build.filter);
    let words = words.clone();
    let workdir = workdir(state).to_owned();
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let flag = Arc::clone(&cancel.0);
    let task = tokio::task::spawn_blocking(move || {
        plan_copy(&CopyRequest {
            context: &context,
            sources: &words.sources,
            dest: &words.dest,
            workdir: &workdir,
            owner,
            chmod: words.chmod,
            exclude: &words.exclude,
            filter: &*filter,
            extract_archives: extract,
            dest_is_dir,
            cancel: Some(&flag),
        })
    });
    let planned = task.await.map_err(|error| CopyError::Io {
        path: context_name(build),
        source: std::io::Error::other(error.to_string()),
    })?;
    drop(cancel);
    planned
}

fn context_name<E: StepEngine>(build: &NativeBuild<E>) -> String {
    build.options.context_dir.display().to_string()
}

fn workdir(state: &StageState) -> &str {
    if state.settings.workdir.is_empty() {
        "/"
    } else {
        &state.settings.workdir
    }
}

/// Docker creates the missing directories above what a copy writes, mode
/// 0755. Above a file they get the copy's owner (`--chown`); when a
/// directory's contents are copied, the directory they go into gets it,
/// and the directories above that one stay root's. The upload alone would
/// leave them all to root.
async fn create_missing_parents<E: StepEngine>(
    container: &mut GroupContainer<'_, E>,
    planned: &CopyPlan,
    owner: Owner,
) -> Result<(), OpError> {
    let entries = &planned.entries;
    let written: HashSet<&str> = entries.iter().map(|e| e.trim_end_matches('/')).collect();
    let mut parents: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for entry in entries {
        let mut path = entry.trim_end_matches('/');
        while let Some((parent, _)) = path.rsplit_once('/') {
            if parent.is_empty() || written.contains(parent) {
                break;
            }
            if !seen.insert(parent.to_owned()) {
                break;
            }
            parents.push(parent.to_owned());
            path = parent;
        }
    }
    let dirs = &planned.dir_destinations;
    // Entries that a file copy wrote, not a directory's contents.
    let loose: Vec<&str> = entries
        .iter()
        .map(|e| e.trim_end_matches('/'))
        .filter(|e| !dirs.iter().any(|d| within(e, d)))
        .collect();
    let (root_owned, copy_owned): (Vec<String>, Vec<String>) =
        parents.into_iter().partition(|parent| {
            dirs.iter().any(|d| d != parent && within(d, parent))
                && !loose.iter().any(|e| within(e, parent))
        });
    create_missing_dirs(container, &root_owned, Owner::default(), "copy").await?;
    create_missing_dirs(container, &copy_owned, owner, "copy").await
}

/// Gather the creation of those of `dirs` the container lacks: mode 0755,
/// owned by `owner`, parents before children.
pub async fn create_missing_dirs<E: StepEngine>(
    container: &mut GroupContainer<'_, E>,
    dirs: &[String],
    owner: Owner,
    operation: &'static str,
) -> Result<(), OpError> {
    let mut missing = Vec::new();
    for dir in dirs {
        if container.path_kind(dir).await?.is_none() {
            missing.push(dir.clone());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort();
    let mut writer = TarWriter::new(owner, None);
    for dir in missing {
        writer
            .add_entry(TarEntry {
                path: dir,
                kind: EntryKind::Dir,
                mode: 0o755,
                owner,
                mtime: 0,
                keep_owner: true,
            })
            .map_err(|e| OpError::new(operation, e.to_string()))?;
    }
    let plan = writer
        .finish()
        .map_err(|e| OpError::new(operation, e.to_string()))?;
    container.add(plan.tar);
    Ok(())
}

/// The numeric owner for `--chown`, reading the image's account files when
/// the value holds names.
async fn resolve_owner<E: StepEngine>(
    container: &mut GroupContainer<'_, E>,
    spec: Option<&str>,
) -> Result<Owner, OpError> {
    let Some(spec) = spec else {
        return Ok(Owner::default());
    };
    let chown_error = |e: super::owner::OwnerError| OpError::new("chown", e.to_string());
    if !needs_lookup(spec) {
        return resolve_chown(spec, None, None).map_err(chown_error);
    }
    let passwd = read_file(container, "/etc/passwd").await?;
    let group = read_file(container, "/etc/group").await?;
    resolve_chown(spec, passwd.as_deref(), group.as_deref()).map_err(chown_error)
}

/// A small text file from a container, `None` when it does not exist.
async fn read_file<E: StepEngine>(
    container: &mut GroupContainer<'_, E>,
    path: &str,
) -> Result<Option<String>, OpError> {
    let tar = match container.download(path).await {
        Ok(tar) => tar,
        Err(error) if error.not_found => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut archive = tar::Archive::new(tar.as_slice());
    let read_error = |e: std::io::Error| OpError::new("download", format!("{path}: {e}"));
    let mut entries = archive.entries().map_err(read_error)?;
    match entries.next() {
        Some(entry) => {
            let mut text = String::new();
            entry
                .map_err(read_error)?
                .read_to_string(&mut text)
                .map_err(read_error)?;
            Ok(Some(text))
        }
        None => Ok(None),
    }
}
