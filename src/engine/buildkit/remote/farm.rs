//! Image targets spread over several builders: each builder takes the
//! next job it can build (it offers the job's platforms) as soon as it is
//! free, so independent targets, and the parts of a multi-platform target
//! (`parts`), build at once. A builder that is lost mid-build (it stops
//! answering) takes no more work, and the job it was building is re-run
//! on another builder, once; the report says so. A job that fails (a
//! step failed) stops the build: jobs not yet started are not started,
//! those running finish.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard_buildkit_proto::moby::buildkit::v1::ListWorkersRequest;

use super::address::BuilderAddress;
use super::connect::Control;
use super::filesend::FileSend;
use super::job::Job;
use super::platform_split::check_platform_split;
use super::session::RemoteSession;
use super::solve::{CacheEntry, Publish, RemoteSolve, SolveEnd, run_solve};
use super::vertex::normalise_vertex_name;
use super::workers::{Worker, offers};
use crate::diagnostics::Diagnostic;
use crate::engine::backend::failure::step_failure;
use crate::engine::buildkit::artifacts::artifact_failure;
use crate::engine::buildkit::auth::RegistryAuth;
use crate::engine::buildkit::filesend::FileSend as FilesReceiver;
use crate::engine::buildkit::filesync::{FileSync, SyncedDir};
use crate::engine::buildkit::ids::random_id;
use crate::engine::buildkit::secrets::Secrets;
use crate::engine::buildkit::session::Services;
use crate::engine::buildkit::status::StatusTracker;
use crate::engine::codes;
use crate::engine::interrupt::Interrupt;
use crate::engine::progress::{Event, ProgressSink};
use crate::engine::registry::credentials::DockerConfig;

/// The Dockerfile's name in the session's `dockerfile` directory.
const DOCKERFILE: &str = "Dockerfile";
/// A target runs at most this often: once, and once more elsewhere.
const MAX_RUNS: usize = 2;
/// How long a builder that reported a failure may take to show it lives.
const ALIVE_TIMEOUT: Duration = Duration::from_secs(3);

/// A builder, connected and asked what it offers.
#[derive(Debug, Clone)]
pub struct Builder {
    pub address: BuilderAddress,
    pub control: Control,
    pub workers: Vec<Worker>,
}

/// What every solve shares.
#[derive(Debug, Clone)]
pub struct FarmSettings {
    pub context_dir: PathBuf,
    pub secrets: BTreeMap<String, PathBuf>,
    pub docker_config: DockerConfig,
    pub no_cache: bool,
    pub cache_to: Vec<CacheEntry>,
    pub cache_from: Vec<CacheEntry>,
    /// Where `docker` exporter tarballs are received.
    pub scratch: PathBuf,
}

/// How a target ended.
#[derive(Debug, Clone)]
pub enum JobEnd {
    /// Pushed by the builder; the manifest's digest.
    Pushed {
        digest: Option<String>,
    },
    /// A tarball for the Engine, and the image id it holds.
    Tarball {
        path: PathBuf,
        image: String,
    },
    /// An artifact target's files: one archive per transfer.
    Files {
        archives: Vec<Vec<u8>>,
    },
    Failed(Vec<Diagnostic>),
    /// Not started: the build stopped first.
    NotRun,
}

/// One job's story: a target's, or one part's of it.
#[derive(Debug, Clone)]
pub struct JobReport {
    pub target: String,
    /// The platform, when the job is one part of the target.
    pub part: Option<String>,
    /// The builder that built it (or failed it).
    pub builder: Option<String>,
    /// Why it was re-run, if it was: the builder lost and its reason.
    pub rerun: Option<String>,
    pub steps_ran: usize,
    pub steps_cached: usize,
    pub end: JobEnd,
}

struct Shared {
    queue: VecDeque<usize>,
    runs: Vec<usize>,
    lost: Vec<bool>,
    reports: Vec<JobReport>,
    unfinished: usize,
    stop: bool,
}

/// Builds every job; reports come back in the jobs' order.
pub async fn run_farm(
    builders: &[Builder],
    jobs: &[Job],
    settings: &FarmSettings,
    progress: &mut dyn ProgressSink,
    interrupt: &Interrupt,
) -> Vec<JobReport> {
    let shared = RefCell::new(Shared {
        queue: (0..jobs.len()).collect(),
        runs: vec![0; jobs.len()],
        lost: vec![false; builders.len()],
        reports: jobs
            .iter()
            .map(|job| JobReport {
                target: job.target.clone(),
                part: job.part.clone(),
                builder: None,
                rerun: None,
                steps_ran: 0,
                steps_cached: 0,
                end: JobEnd::NotRun,
            })
            .collect(),
        unfinished: jobs.len(),
        stop: false,
    });
    let progress = RefCell::new(progress);
    let wake = tokio::sync::Notify::new();
    let workers = builders.iter().enumerate().map(|(index, _)| {
        work(
            index, builders, jobs, settings, &shared, &progress, &wake, interrupt,
        )
    });
    futures_util::future::join_all(workers).await;
    shared.into_inner().reports
}

/// The next job builder `index` can take, if any.
fn take(shared: &mut Shared, builder: &Builder, jobs: &[Job]) -> Option<usize> {
    let position = shared
        .queue
        .iter()
        .position(|&job| can_build(builder, &jobs[job]))?;
    shared.queue.remove(position)
}

/// Whether `builder` can build `job`: copies build for any platform, a
/// command runs only where the builder offers the platform.
pub fn can_build(builder: &Builder, job: &Job) -> bool {
    !job.runs_commands || job.platforms.iter().all(|p| offers(&builder.workers, p))
}

#[allow(clippy::too_many_arguments)]
async fn work(
    index: usize,
    builders: &[Builder],
    jobs: &[Job],
    settings: &FarmSettings,
    shared: &RefCell<Shared>,
    progress: &RefCell<&mut dyn ProgressSink>,
    wake: &tokio::sync::Notify,
    interrupt: &Interrupt,
) {
    let builder = &builders[index];
    loop {
        let next = {
            let mut state = shared.borrow_mut();
            if state.unfinished == 0 || state.lost[index] {
                return;
            }
            if state.stop || interrupt.is_requested() {
                state.stop = true;
                return;
            }
            take(&mut state, builder, jobs)
        };
        let Some(job_index) = next else {
            // Another builder may yet hand a target back.
            let _ = tokio::time::timeout(Duration::from_millis(200), wake.notified()).await;
            fail_orphans(&mut shared.borrow_mut(), builders, jobs);
            continue;
        };
        let job = &jobs[job_index];
        let run = {
            let mut state = shared.borrow_mut();
            state.runs[job_index] += 1;
            state.runs[job_index]
        };
        let outcome = solve_on(builder, job, run, settings, progress, interrupt).await;
        let mut state = shared.borrow_mut();
        let report = &mut state.reports[job_index];
        report.builder = Some(builder.address.to_string());
        report.steps_ran = outcome.steps_ran;
        report.steps_cached = outcome.steps_cached;
        match outcome.end {
            Ok(end) => {
                report.end = end;
                state.unfinished -= 1;
            }
            Err(Ending::Failed(diagnostics)) => {
                report.end = JobEnd::Failed(diagnostics);
                state.unfinished -= 1;
                state.stop = true;
            }
            Err(Ending::Lost(reason)) => {
                let note = format!("{} was lost ({reason})", builder.address);
                state.lost[index] = true;
                let others = builders
                    .iter()
                    .enumerate()
                    .any(|(other, b)| !state.lost[other] && can_build(b, job));
                if state.runs[job_index] < MAX_RUNS && others {
                    state.reports[job_index].rerun = Some(note);
                    state.queue.push_front(job_index);
                } else {
                    state.reports[job_index].end = JobEnd::Failed(vec![
                        Diagnostic::error(
                            codes::BUILD_FAILED,
                            format!("target `{}`: builder {note}", job.label()),
                        )
                        .with_help("no other builder could take it over; check the builders with `stages builders ls`"),
                    ]);
                    state.unfinished -= 1;
                    state.stop = true;
                }
                drop(state);
                wake.notify_waiters();
                return;
            }
        }
        drop(state);
        wake.notify_waiters();
    }
}

/// Queued targets no living builder can take fail now, instead of waiting.
fn fail_orphans(state: &mut Shared, builders: &[Builder], jobs: &[Job]) {
    let living: Vec<&Builder> = builders
        .iter()
        .enumerate()
        .filter(|(i, _)| !state.lost[*i])
        .map(|(_, b)| b)
        .collect();
    let orphans: Vec<usize> = state
        .queue
        .iter()
        .copied()
        .filter(|&job| !living.iter().any(|b| can_build(b, &jobs[job])))
        .collect();
    for job in orphans {
        state.queue.retain(|&j| j != job);
        let lost = state.reports[job].rerun.clone().unwrap_or_default();
        state.reports[job].end = JobEnd::Failed(vec![Diagnostic::error(
            codes::BUILD_FAILED,
            format!(
                "target `{}`: no builder is left to build it ({lost})",
                jobs[job].label()
            ),
        )]);
        state.unfinished -= 1;
        state.stop = true;
    }
}

enum Ending {
    Failed(Vec<Diagnostic>),
    Lost(String),
}

struct Outcome {
    end: Result<JobEnd, Ending>,
    steps_ran: usize,
    steps_cached: usize,
}

async fn solve_on(
    builder: &Builder,
    job: &Job,
    run: usize,
    settings: &FarmSettings,
    progress: &RefCell<&mut dyn ProgressSink>,
    interrupt: &Interrupt,
) -> Outcome {
    let needed = [job.stage.clone()];
    let label = job.label();
    progress.borrow_mut().event(Event::TargetStarted {
        target: &label,
        stages: &needed,
    });
    // Two parts of a target build the same stage at once: the line says
    // which one this builder took.
    let line = match &job.part {
        Some(_) => format!("{label} on builder {} (run {run})", builder.address),
        None => format!("on builder {} (run {run})", builder.address),
    };
    progress.borrow_mut().event(Event::Output {
        stage: &job.stage,
        line: &line,
    });
    let tarball = settings
        .scratch
        .join(format!("{}-{run}-{}.tar", job.target, random_id()));
    let dirs = HashMap::from([
        (
            "context".to_owned(),
            SyncedDir::Disk(settings.context_dir.clone()),
        ),
        (
            "dockerfile".to_owned(),
            SyncedDir::File {
                name: DOCKERFILE.to_owned(),
                contents: bytes::Bytes::from(job.exported.text.clone()),
            },
        ),
    ]);
    // Files come as fsutil packets, as on the Engine; an image tarball
    // as raw bytes, on the remote session's own file send.
    let files = (job.publish == Publish::Files).then(FilesReceiver::default);
    let services = Services {
        filesync: FileSync::new(dirs, Default::default()),
        secrets: Secrets::new(settings.secrets.clone()),
        auth: RegistryAuth::new(settings.docker_config.clone()),
        filesend: files.clone(),
    };
    let session = RemoteSession::open(
        &builder.control,
        random_id(),
        services,
        FileSend::into_file(tarball.clone()),
    );
    let solve = RemoteSolve {
        reference: random_id(),
        session: session.id.clone(),
        dockerfile: DOCKERFILE.to_owned(),
        target: job.stage.clone(),
        build_args: job.args.clone(),
        labels: job.labels.clone(),
        no_cache: settings.no_cache,
        platforms: job.platforms.clone(),
        publish: job.publish.clone(),
        cache_to: settings.cache_to.clone(),
        cache_from: settings.cache_from.clone(),
    };
    let mut tracker = StatusTracker::new(&job.exported.instructions);
    let solving = run_solve(&builder.control, &solve, |mut status| {
        for vertex in &mut status.vertexes {
            vertex.name = normalise_vertex_name(&vertex.name, &job.stage);
        }
        tracker.apply(status, &mut **progress.borrow_mut())
    });
    let end = tokio::select! {
        end = solving => end,
        () = interrupt.requested() => SolveEnd::Failed("interrupted".to_owned()),
    };
    drop(session);
    let end = match end {
        SolveEnd::Done(response) => Ok(finished(job, &response, tarball, files.as_ref())),
        SolveEnd::Lost(reason) => Err(Ending::Lost(reason)),
        SolveEnd::Failed(message) if !alive(&builder.control).await => Err(Ending::Lost(message)),
        SolveEnd::Failed(message) => Err(Ending::Failed(vec![match &job.files {
            Some(target) => artifact_failure(
                &job.project,
                &job.target,
                &target.artifacts,
                &job.exported,
                &tracker.failed_step(),
                &message,
            ),
            None => in_part(
                job,
                step_failure(
                    &job.project,
                    &job.exported.instructions,
                    &tracker.failed_step(),
                    &message,
                ),
            ),
        }])),
    };
    let end = match end {
        Ok(Err(diagnostic)) => Err(Ending::Failed(vec![diagnostic])),
        Ok(Ok(end)) => Ok(end),
        Err(ending) => Err(ending),
    };
    let (steps_ran, steps_cached) = tracker.step_counts();
    Outcome {
        end,
        steps_ran,
        steps_cached,
    }
}

/// A step's failure in one part says which platform it failed for.
fn in_part(job: &Job, mut diagnostic: Diagnostic) -> Diagnostic {
    if let Some(platform) = &job.part {
        diagnostic.message = format!("for {platform}: {}", diagnostic.message);
    }
    diagnostic
}

/// What a finished solve left: a pushed digest, a received tarball or
/// received files.
fn finished(
    job: &Job,
    response: &BTreeMap<String, String>,
    tarball: PathBuf,
    files: Option<&FilesReceiver>,
) -> Result<JobEnd, Diagnostic> {
    match job.publish {
        Publish::Files => received_files(job, files),
        Publish::Push { .. } => Ok(JobEnd::Pushed {
            digest: response.get("containerimage.digest").cloned(),
        }),
        Publish::DockerTarball => {
            let image = response
                .get("containerimage.config.digest")
                .cloned()
                .filter(|_| Path::new(&tarball).is_file());
            match image {
                Some(image) => Ok(JobEnd::Tarball {
                    path: tarball,
                    image,
                }),
                None => Err(Diagnostic::error(
                    codes::BUILD_FAILED,
                    format!(
                        "target `{}`: the builder finished without sending the image",
                        job.target
                    ),
                )),
            }
        }
    }
}

/// Every transfer of the `local` exporter, whole.
fn received_files(job: &Job, files: Option<&FilesReceiver>) -> Result<JobEnd, Diagnostic> {
    let failed = |why: String| {
        Diagnostic::error(
            codes::ARTIFACT_EXPORT,
            format!("target `{}`: {why}", job.target),
        )
    };
    let transfers = files.map(FilesReceiver::take_all).unwrap_or_default();
    if transfers.is_empty() {
        return Err(failed(
            "the builder finished without sending the target's files".to_owned(),
        ));
    }
    let mut archives = Vec::new();
    for transfer in transfers {
        archives.push(transfer.map_err(|error| {
            failed(format!(
                "the files the builder exported were not received: {error}"
            ))
        })?);
    }
    check_platform_split(&job.platforms, &archives).map_err(failed)?;
    Ok(JobEnd::Files { archives })
}

/// Whether the builder still answers.
async fn alive(control: &Control) -> bool {
    let mut control = control.clone();
    matches!(
        tokio::time::timeout(
            ALIVE_TIMEOUT,
            control.list_workers(ListWorkersRequest::default())
        )
        .await,
        Ok(Ok(_))
    )
}
