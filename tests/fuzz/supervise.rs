//! Running inputs in a worker process (the test binary itself, in the
//! role named by `STAGES_FUZZ_ROLE`) so that an abort or a stack overflow
//! is seen as a failure of the input that caused it, and an input that
//! runs over the time limit is stopped and reported; minimising and
//! saving what failed.
//!
//! The worker prints one line before and after each command:
//! `@begin INDEX COMMAND` and `@end INDEX COMMAND ok|fail MESSAGE`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::drive;
use super::mutate::{self, Kind, Seed};

/// No command may use more processor time than this on one input.
/// Processor time, not wall time: on a loaded machine a command waits
/// for a core, and wall time would report that wait as a hang.
pub const TIME_LIMIT: Duration = Duration::from_secs(5);
/// The binary's own start-up and output come on top.
const BINARY_TIME_LIMIT: Duration = Duration::from_secs(8);
/// A command that uses no processor time (blocked on a pipe, a lock)
/// still hangs: past this much wall time it is stopped all the same.
const WALL_TIME_LIMIT: Duration = Duration::from_secs(60);
/// How often a running command's processor time is looked at.
const POLL: Duration = Duration::from_millis(200);

/// The test function the worker runs in (see tests/fuzz.rs).
pub const WORKER_TEST: &str = "fuzz_worker";

// ---------------------------------------------------------------- worker

static PANIC_MESSAGE: Mutex<Option<String>> = Mutex::new(None);

fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut slot) = PANIC_MESSAGE.lock() {
            *slot = Some(format!("panic at {place}: {payload}"));
        }
    }));
}

/// One command on one input, in process; `Err` says what broke.
fn run_caught(command: &str, bytes: &[u8]) -> Result<(), String> {
    if let Some(command) = command.strip_prefix("bin:") {
        return run_binary(command, bytes);
    }
    match std::panic::catch_unwind(AssertUnwindSafe(|| drive::run(command, bytes))) {
        Ok(outcome) => outcome,
        Err(_) => Err(PANIC_MESSAGE
            .lock()
            .ok()
            .and_then(|mut m| m.take())
            .unwrap_or_else(|| "panic".to_owned())),
    }
}

fn one_line(text: &str) -> String {
    let mut line: String = text.chars().take(3_000).collect();
    line = line
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r");
    line
}

fn report(out: &mut impl Write, index: u64, command: &str, outcome: &Result<(), String>) {
    let _ = match outcome {
        Ok(()) => writeln!(out, "@end {index} {command} ok"),
        Err(why) => writeln!(out, "@end {index} {command} fail {}", one_line(why)),
    };
    let _ = out.flush();
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The worker's loop, in a thread with the main thread's usual 8 MiB
/// stack (the binary runs its commands there). Replays one file when
/// `STAGES_FUZZ_REPLAY` is set, else runs inputs from
/// `STAGES_FUZZ_START` until `STAGES_FUZZ_END` or the unix time
/// `STAGES_FUZZ_DEADLINE`.
pub fn worker() {
    let thread = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(worker_loop)
        .expect("worker thread starts");
    thread.join().expect("worker thread ends");
}

fn worker_loop() {
    quiet_panics();
    let mut out = std::io::stdout().lock();
    if let Ok(path) = std::env::var("STAGES_FUZZ_REPLAY") {
        let command = std::env::var("STAGES_FUZZ_COMMAND").unwrap_or_default();
        let bytes = std::fs::read(&path).unwrap_or_default();
        let _ = writeln!(out, "@begin 0 {command}");
        let _ = out.flush();
        report(&mut out, 0, &command, &run_caught(&command, &bytes));
        return;
    }
    let seed = env_u64("STAGES_FUZZ_SEED").unwrap_or(0);
    let start = env_u64("STAGES_FUZZ_START").unwrap_or(0);
    let end = env_u64("STAGES_FUZZ_END").unwrap_or(u64::MAX);
    let deadline = env_u64("STAGES_FUZZ_DEADLINE").unwrap_or(u64::MAX);
    let binary_every = env_u64("STAGES_FUZZ_BINARY_EVERY").unwrap_or(0);
    let trace = std::env::var_os("STAGES_FUZZ_TRACE").is_some();
    let seeds = mutate::seeds();
    for index in start..end {
        if unix_now() >= deadline {
            break;
        }
        let input = mutate::input(&seeds, seed, index);
        let mut commands: Vec<String> = drive::commands(input.kind)
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
        if binary_every > 0 && index % binary_every == 0 {
            let all = drive::commands(input.kind);
            commands.push(format!(
                "bin:{}",
                all[(index / binary_every) as usize % all.len()]
            ));
        }
        for command in &commands {
            let _ = writeln!(out, "@begin {index} {command}");
            let _ = out.flush();
            let started = Instant::now();
            let outcome = run_caught(command, &input.bytes);
            if trace {
                eprintln!(
                    "{index} {command} {:?} {} bytes [{}]",
                    started.elapsed(),
                    input.bytes.len(),
                    input.mutations.join(", ")
                );
            }
            report(&mut out, index, command, &outcome);
        }
    }
    let _ = writeln!(out, "@done");
    let _ = out.flush();
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The real binary on the input, with the time limit; exit codes 0, 1
/// and 2 are answers, anything else (101 for a panic, a signal) is not.
fn run_binary(command: &str, bytes: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let name = if drive::commands(Kind::Toml).contains(&command) {
        "stages.toml"
    } else {
        "Dockerfile"
    };
    let file = dir.path().join(name);
    std::fs::write(&file, bytes).map_err(|e| format!("write: {e}"))?;
    let file = file.display().to_string();
    let args: Vec<&str> = match command {
        "check" => vec!["check", "-f", &file],
        "plan" => vec!["plan", "-f", &file],
        "graph" => vec!["graph", "-f", &file],
        "export-dockerfile" => vec!["export-dockerfile", "--all-stages", "-f", &file, "-o", "-"],
        "import" => vec!["import", &file, "-o", "-"],
        "dockerfile-dump" => vec!["dockerfile", "dump", &file],
        "dockerfile-outline" => vec!["dockerfile", "outline", &file],
        "dockerfile-fmt" => vec!["dockerfile", "fmt", "--check", &file],
        other => return Err(format!("no command {other}")),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_stages"))
        .args(&args)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run the binary: {e}"))?;
    let watch = Watch::start(child.id(), TIME_LIMIT, WALL_TIME_LIMIT);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return match status.code() {
                    Some(0..=2) => Ok(()),
                    _ => Err(format!("the binary ended with {status}")),
                };
            }
            Ok(None) if watch.over() => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("hang: the binary ran over {}", watch.limits()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("wait: {e}")),
        }
    }
}

// ------------------------------------------------------------ supervisor

/// One input that failed one command.
#[derive(Debug, Clone)]
pub struct Failure {
    pub seed: u64,
    pub index: u64,
    pub command: String,
    pub message: String,
}

impl Failure {
    /// What makes two failures the same defect: the panic's place, the
    /// broken property's first words, or abort / hang.
    pub fn signature(&self) -> String {
        signature(&self.command, &self.message)
    }
}

pub fn signature(command: &str, message: &str) -> String {
    let head: String = if let Some(rest) = message.strip_prefix("panic at ") {
        format!("panic at {}", rest.split(": ").next().unwrap_or(rest))
    } else if message.starts_with("abort") || message.starts_with("hang") {
        message.split(':').next().unwrap_or(message).to_owned()
    } else {
        message
            .split([':', '\n', '\\'])
            .next()
            .unwrap_or(message)
            .to_owned()
    };
    format!("{command}: {head}")
}

#[derive(Debug, Default)]
pub struct Summary {
    /// Inputs run, per command.
    pub runs: BTreeMap<String, u64>,
    pub failures: Vec<Failure>,
}

impl Summary {
    pub fn merge(&mut self, other: Summary) {
        for (command, n) in other.runs {
            *self.runs.entry(command).or_default() += n;
        }
        self.failures.extend(other.failures);
    }
}

/// How a worker is started.
pub struct Plan {
    pub seed: u64,
    pub start: u64,
    pub end: u64,
    /// Unix time to stop at.
    pub deadline: u64,
    pub binary_every: u64,
}

fn spawn_worker(plan: &Plan, start: u64) -> std::io::Result<Child> {
    let mut command = worker_command();
    command
        .env("STAGES_FUZZ_SEED", plan.seed.to_string())
        .env("STAGES_FUZZ_START", start.to_string())
        .env("STAGES_FUZZ_END", plan.end.to_string())
        .env("STAGES_FUZZ_DEADLINE", plan.deadline.to_string())
        .env("STAGES_FUZZ_BINARY_EVERY", plan.binary_every.to_string());
    command.spawn()
}

fn worker_command() -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new(exe);
    command
        .args([
            WORKER_TEST,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("STAGES_FUZZ_ROLE", "worker")
        .env_remove("STAGES_FUZZ_REPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if std::env::var_os("STAGES_FUZZ_TRACE").is_none() {
        command.stderr(Stdio::null());
    }
    command
}

/// Lines of the child's standard output, as they come.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
    }
    receive
}

fn limit(command: &str) -> Duration {
    if command.starts_with("bin:") {
        BINARY_TIME_LIMIT
    } else {
        TIME_LIMIT
    }
}

/// The watch on one command running in a worker: a binary command's
/// processor time is spent in its own child, which the worker watches,
/// so the worker is given a wall limit beyond the child's.
fn watch_command(pid: u32, command: &str) -> Watch {
    if command.starts_with("bin:") {
        Watch::start(pid, Duration::MAX, WALL_TIME_LIMIT + BINARY_TIME_LIMIT)
    } else {
        Watch::start(pid, limit(command), WALL_TIME_LIMIT)
    }
}

/// Processor time and wall time of one process since a command began.
pub struct Watch {
    pid: u32,
    cpu_at_start: Duration,
    started: Instant,
    cpu_limit: Duration,
    wall_limit: Duration,
}

impl Watch {
    pub fn start(pid: u32, cpu_limit: Duration, wall_limit: Duration) -> Watch {
        Watch {
            pid,
            cpu_at_start: cpu_time(pid).unwrap_or_default(),
            started: Instant::now(),
            cpu_limit,
            wall_limit,
        }
    }

    pub fn over(&self) -> bool {
        let cpu = cpu_time(self.pid)
            .unwrap_or_default()
            .saturating_sub(self.cpu_at_start);
        cpu > self.cpu_limit || self.started.elapsed() > self.wall_limit
    }

    fn limits(&self) -> String {
        if self.cpu_limit == Duration::MAX {
            format!("{} s of wall time", self.wall_limit.as_secs())
        } else {
            format!(
                "{} s of processor time or {} s of wall time",
                self.cpu_limit.as_secs(),
                self.wall_limit.as_secs()
            )
        }
    }
}

/// User plus system time of a process, from /proc/PID/stat; `None` when
/// the process is gone or the file cannot be read.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).ok().filter(|&n| n > 0)?;
    Some(Duration::from_millis(ticks * 1000 / per_second))
}

/// Runs the plan's inputs, restarting the worker after an abort or a hang.
pub fn supervise(plan: &Plan) -> Summary {
    let mut summary = Summary::default();
    let mut next = plan.start;
    while next < plan.end && unix_now() < plan.deadline {
        let Ok(mut child) = spawn_worker(plan, next) else {
            summary.failures.push(Failure {
                seed: plan.seed,
                index: next,
                command: "worker".into(),
                message: "cannot start the worker".into(),
            });
            break;
        };
        let receive = lines(&mut child);
        let mut current: Option<(u64, String)> = None;
        // Before the first command, the worker's start-up is watched.
        let mut watch = Watch::start(child.id(), Duration::MAX, Duration::from_secs(120));
        let mut finished = false;
        loop {
            match receive.recv_timeout(POLL) {
                Ok(line) => {
                    let mut words = line.splitn(5, ' ');
                    match (words.next(), words.next(), words.next(), words.next()) {
                        (Some("@begin"), Some(index), Some(command), _) => {
                            let index = index.parse().unwrap_or(next);
                            next = index + 1;
                            watch = watch_command(child.id(), command);
                            current = Some((index, command.to_owned()));
                        }
                        (Some("@end"), Some(index), Some(command), Some(result)) => {
                            *summary.runs.entry(command.to_owned()).or_default() += 1;
                            if result == "fail" {
                                summary.failures.push(Failure {
                                    seed: plan.seed,
                                    index: index.parse().unwrap_or(next),
                                    command: command.to_owned(),
                                    message: words.next().unwrap_or_default().replace("\\n", "\n"),
                                });
                            }
                            current = None;
                        }
                        (Some("@done"), ..) => finished = true,
                        _ => {}
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if !watch.over() => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    if let Some((index, command)) = current.take() {
                        *summary.runs.entry(command.clone()).or_default() += 1;
                        let message = format!("hang: over {}", watch.limits());
                        summary.failures.push(Failure {
                            seed: plan.seed,
                            index,
                            command,
                            message,
                        });
                    }
                    break;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait();
                    if let Some((index, command)) = current.take() {
                        *summary.runs.entry(command.clone()).or_default() += 1;
                        let message = match status {
                            Ok(status) => format!("abort: the process ended with {status}"),
                            Err(e) => format!("abort: {e}"),
                        };
                        summary.failures.push(Failure {
                            seed: plan.seed,
                            index,
                            command,
                            message,
                        });
                    } else {
                        finished = true;
                    }
                    break;
                }
            }
        }
        if finished {
            break;
        }
    }
    summary
}

/// The shell command a findings report gives to replay `input` through
/// `command` in a worker (which refuses to run without its role).
pub fn replay_line(input: &Path, command: &str) -> String {
    format!(
        "STAGES_FUZZ_ROLE=worker STAGES_FUZZ_REPLAY={} STAGES_FUZZ_COMMAND={command} cargo test --test fuzz {WORKER_TEST} -- --exact --ignored --nocapture",
        input.display()
    )
}

/// Replays one command on one input in a worker; the failure message, if any.
pub fn replay(command: &str, bytes: &[u8], scratch: &Path) -> Option<String> {
    let file = scratch.join("replay.input");
    std::fs::write(&file, bytes).ok()?;
    let mut child = worker_command()
        .env("STAGES_FUZZ_REPLAY", &file)
        .env("STAGES_FUZZ_COMMAND", command)
        .spawn()
        .ok()?;
    let receive = lines(&mut child);
    let mut begun = false;
    let mut watch = Watch::start(child.id(), Duration::MAX, Duration::from_secs(120));
    loop {
        match receive.recv_timeout(POLL) {
            Ok(line) if line.starts_with("@begin") => {
                begun = true;
                watch = watch_command(child.id(), command);
            }
            Ok(line) if line.starts_with("@end") => {
                let _ = child.wait();
                let mut words = line.splitn(5, ' ');
                let result = words.nth(3);
                return (result == Some("fail"))
                    .then(|| words.next().unwrap_or_default().replace("\\n", "\n"));
            }
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) if !watch.over() => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                return Some(format!("hang: over {}", watch.limits()));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().ok()?;
                return begun.then(|| format!("abort: the process ended with {status}"));
            }
        }
    }
}

/// The smallest input found, within `budget`, that fails the same way:
/// whole lines removed first, then runs of bytes.
pub fn minimise(failure: &Failure, bytes: &[u8], budget: Duration, scratch: &Path) -> Vec<u8> {
    let wanted = failure.signature();
    let started = Instant::now();
    let same = |candidate: &[u8]| {
        replay(&failure.command, candidate, scratch)
            .is_some_and(|m| signature(&failure.command, &m) == wanted)
    };
    let mut best = bytes.to_vec();
    for by_lines in [true, false] {
        let mut pieces: Vec<Vec<u8>> = if by_lines {
            best.split_inclusive(|b| *b == b'\n')
                .map(<[u8]>::to_vec)
                .collect()
        } else {
            best.iter().map(|b| vec![*b]).collect()
        };
        let mut chunk = pieces.len().div_ceil(2).max(1);
        loop {
            let mut at = 0;
            let mut removed_any = false;
            while at < pieces.len() {
                if started.elapsed() > budget {
                    return best;
                }
                let end = (at + chunk).min(pieces.len());
                let candidate: Vec<u8> = pieces[..at]
                    .iter()
                    .chain(&pieces[end..])
                    .flatten()
                    .copied()
                    .collect();
                if same(&candidate) {
                    pieces.drain(at..end);
                    best = candidate;
                    removed_any = true;
                } else {
                    at = end;
                }
            }
            if chunk == 1 && !removed_any {
                break;
            }
            chunk = if removed_any {
                chunk
            } else {
                (chunk / 2).max(1)
            };
        }
    }
    best
}

/// Saves each distinct failure under `dir` (`fuzz-findings/`): the
/// input, its minimised form (when `budget` allows), and what happened.
pub fn save(
    failures: &[Failure],
    seeds: &[Seed],
    dir: &Path,
    budget: Option<Duration>,
) -> Vec<PathBuf> {
    let mut saved = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    // Minimising all together takes at most four times one's budget.
    let started = Instant::now();
    let total = budget.map(|b| b * 4);
    for failure in failures {
        let signature = failure.signature();
        if seen.contains(&signature) {
            continue;
        }
        seen.push(signature.clone());
        let input = mutate::input(seeds, failure.seed, failure.index);
        let slug: String = signature
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .split('-')
            .filter(|w| !w.is_empty())
            .take(12)
            .collect::<Vec<_>>()
            .join("-");
        let folder = dir.join(format!("{slug}-{:x}-{}", failure.seed, failure.index));
        if std::fs::create_dir_all(&folder).is_err() {
            continue;
        }
        let name = if input.kind == Kind::Toml {
            "stages.toml"
        } else {
            "Dockerfile"
        };
        let _ = std::fs::write(folder.join(name), &input.bytes);
        let mut minimised_note = String::new();
        let left = total.map(|t| t.saturating_sub(started.elapsed()));
        if let (Some(budget), Some(left)) = (budget, left)
            && !left.is_zero()
        {
            let budget = budget.min(left);
            let minimised = minimise(failure, &input.bytes, budget, &folder);
            let _ = std::fs::remove_file(folder.join("replay.input"));
            let _ = std::fs::write(folder.join(format!("minimised.{name}")), &minimised);
            minimised_note = format!(
                "minimised: minimised.{name} ({} of {} bytes)\n",
                minimised.len(),
                input.bytes.len()
            );
        }
        let text = format!(
            "command: {}\nseed file: {}\nmutations: {}\nrun seed: {} input: {}\nsignature: {signature}\n{minimised_note}replay: {}\n\n{}\n",
            failure.command,
            seeds[input.seed].name,
            input.mutations.join(", "),
            failure.seed,
            failure.index,
            replay_line(&folder.join(name), &failure.command),
            failure.message,
        );
        let _ = std::fs::write(folder.join("report.txt"), text);
        saved.push(folder);
    }
    saved
}
