//! Mutation tests: every example, every corpus Dockerfile and every file
//! of tests/check/invalid/, bent by hostile mutators (long lines, deep
//! `${…}` nesting, long continuation chains, odd bytes, Unicode spaces,
//! truncation, spliced lines, flipped bits), through check, plan, graph,
//! export-dockerfile, import and dockerfile dump/outline/fmt in process,
//! and a sample through the real binary. No input may panic, abort, use
//! over 5 s of processor time (or hang a minute blocked), or break a consistency property (see `fuzz/drive.rs`).
//!
//! `bounded_mutation_run` runs a fixed, seeded set; `scripts/fuzz.sh`
//! runs the same mutators for as long as asked through
//! `fuzz_for_duration`. Both run inputs in a worker process (this binary,
//! `fuzz_worker`), so that an abort is caught and a hang is stopped.

mod corpus;
#[path = "fuzz/drive.rs"]
mod drive;
#[path = "roundtrip/model.rs"]
#[allow(dead_code)]
mod model;
#[path = "fuzz/mutate.rs"]
mod mutate;
#[path = "fuzz/supervise.rs"]
mod supervise;

use std::path::PathBuf;
use std::time::Duration;

use supervise::{Plan, Summary, supervise};

/// The seed of the bounded run; `STAGES_FUZZ_SEED` picks another.
const BOUNDED_SEED: u64 = 0x5EED_0014;
/// Inputs in the bounded run; `STAGES_FUZZ_INPUTS` picks another count.
const BOUNDED_INPUTS: u64 = 2_400;
/// One input in this many also goes through the real binary.
const BINARY_EVERY: u64 = 30;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn findings_dir() -> PathBuf {
    std::env::var_os("STAGES_FUZZ_FINDINGS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz-findings"),
        PathBuf::from,
    )
}

/// Splits `inputs` between `workers` supervisors, run side by side.
fn run_parallel(seed: u64, inputs: u64, workers: u64, deadline: u64, binary_every: u64) -> Summary {
    let share = inputs.div_ceil(workers);
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let plan = Plan {
                seed,
                start: w * share,
                end: ((w + 1) * share).min(inputs),
                deadline,
                binary_every,
            };
            std::thread::spawn(move || supervise(&plan))
        })
        .collect();
    let mut summary = Summary::default();
    for handle in handles {
        summary.merge(handle.join().expect("a supervisor thread"));
    }
    summary
}

fn describe(summary: &Summary) -> String {
    let mut text = String::new();
    for (command, n) in &summary.runs {
        text.push_str(&format!("  {command}: {n} inputs\n"));
    }
    text
}

#[test]
fn bounded_mutation_run() {
    let seeds = mutate::seeds();
    let examples = seeds
        .iter()
        .filter(|s| s.name.starts_with("examples/"))
        .count();
    let invalid = seeds
        .iter()
        .filter(|s| s.name.starts_with("tests/check/invalid/"))
        .count();
    let dockerfiles = seeds
        .iter()
        .filter(|s| s.kind == mutate::Kind::Dockerfile)
        .count();
    assert!(examples >= 6, "only {examples} examples");
    assert!(invalid >= 40, "only {invalid} invalid files");
    if corpus::root().is_some() {
        assert!(dockerfiles >= 400, "only {dockerfiles} corpus Dockerfiles");
    }
    let seed = env_u64("STAGES_FUZZ_SEED").unwrap_or(BOUNDED_SEED);
    let inputs = env_u64("STAGES_FUZZ_INPUTS").unwrap_or(BOUNDED_INPUTS);
    let summary = run_parallel(seed, inputs, 2, u64::MAX, BINARY_EVERY);
    eprintln!(
        "mutation run, seed {seed}, {inputs} inputs:\n{}",
        describe(&summary)
    );
    if summary.failures.is_empty() {
        assert_every_command_ran(&summary);
        return;
    }
    let saved = supervise::save(&summary.failures, &seeds, &findings_dir(), None);
    let mut by_signature: Vec<(String, Vec<&supervise::Failure>)> = Vec::new();
    for failure in &summary.failures {
        let signature = failure.signature();
        match by_signature.iter_mut().find(|(s, _)| *s == signature) {
            Some((_, list)) => list.push(failure),
            None => by_signature.push((signature, vec![failure])),
        }
    }
    let mut text = String::new();
    for (signature, list) in &by_signature {
        let first = list[0];
        let message: String = first.message.chars().take(600).collect();
        text.push_str(&format!(
            "\n{signature} ({} inputs; first: seed {} input {})\n  {message}\n",
            list.len(),
            first.seed,
            first.index
        ));
    }
    panic!(
        "{} of the mutated inputs failed, {} distinct ways (inputs saved under {}: {} folders):{text}",
        summary.failures.len(),
        by_signature.len(),
        findings_dir().display(),
        saved.len()
    );
}

/// Every command ran, in process and through the binary: a run that
/// reached none cannot pass for a run that found nothing.
fn assert_every_command_ran(summary: &Summary) {
    for command in drive::ALL_COMMANDS {
        let n = summary.runs.get(*command).copied().unwrap_or(0);
        assert!(n > 0, "no input reached {command}");
        let binary = summary
            .runs
            .get(&format!("bin:{command}"))
            .copied()
            .unwrap_or(0);
        assert!(binary > 0, "no input reached the binary's {command}");
    }
}

/// The replay line of a findings report, run as written (its variables,
/// then the worker test of this binary), replays the input.
#[test]
fn a_reports_replay_line_replays_its_input() {
    let dir = std::env::temp_dir().join(format!("stages-fuzz-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let input = dir.join("Dockerfile");
    std::fs::write(&input, "FROM alpine\nRUN true\n").expect("input written");
    let line = supervise::replay_line(&input, "dockerfile-dump");
    let (variables, rest) = line
        .split_once(" cargo test --test fuzz ")
        .expect("the line runs this test binary");
    let mut command = std::process::Command::new(std::env::current_exe().expect("test binary"));
    for assignment in variables.split(' ') {
        let (name, value) = assignment.split_once('=').expect("NAME=value");
        command.env(name, value);
    }
    command.args(rest.split(' ').filter(|w| *w != "--").collect::<Vec<_>>());
    let output = command.output().expect("the worker runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("@end 0 dockerfile-dump ok"),
        "{line}\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// What earlier long runs of `scripts/fuzz.sh` found, minimised, replayed
/// in a worker under the same limits: each now passes.
#[test]
fn the_findings_of_earlier_runs_hold() {
    let long_name = "-".repeat(67_000);
    let longer_name = format!("c{}", "A".repeat(68_000));
    let findings: Vec<(&str, String)> = vec![
        // Two names of ~70,000 characters: the did-you-mean took their
        // lengths' product in time (10 s of processor time).
        (
            "check",
            format!(
                "[stages.long]\nfrom = {{ stage = \"{long_name}\" }}\n[stages.{longer_name}]\nfrom = \"alpine\"\n"
            ),
        ),
        // A one-line command with a heredoc opener: check accepted it,
        // export could not write it.
        (
            "export-dockerfile",
            "[stages.n]\nfrom=\"e\"\nsteps=[{run=\"\"\"a \\\n<<c\"\"\"}]".to_owned(),
        ),
        // A copy destination starting with `<<` opened a heredoc in the
        // exported COPY.
        (
            "export-dockerfile",
            "[stages.builder]\nfrom=\"${}\"\n[artifacts.app]\nstage=\"builder\"\npath=\"/\"\n[stages.r]\nfrom=\"t\"\nsteps=[{artifact=\"app\",to=\"<<O\"}]\n".to_owned(),
        ),
        // An instruction that ends in the escape (then a carriage return
        // and a blank): fmt made it a line continuation.
        ("dockerfile-fmt", "FROM h\nRUN \\\r ".to_owned()),
        // A long ARG with a word starting with `#`: fmt broke the line
        // before it, and a continuation line starting with `#` is a comment.
        (
            "dockerfile-fmt",
            format!("ARG {}#\\\n a=b", "a=b ".repeat(18)),
        ),
        // A script whose first line opens a heredoc: export wrapped it in a
        // heredoc of its own, import kept the wrapping as the command.
        (
            "export-dockerfile",
            "[stages.s]\nfrom=\"n\"\nsteps=[]\n[stages.n]\nfrom=\"e\"\nsteps=[{run=\"\"\"<<E\n\"\"\"}]".to_owned(),
        ),
        // A heredoc command after a mount, starting with a Unicode space
        // and `--`: BuildKit trims the space, and export wrote the rest
        // where it reads as a flag. Import now refuses it on its line.
        (
            "import",
            "FROM ${}\nRUN --mount=type=bind,target= \u{a0}--mount=type=bind,from=e,source= <<EOT\nEOT".to_owned(),
        ),
        (
            "import",
            "FROM a\nRUN --mount=target=\\\n \u{2003}--mount=target= <<EOT\nEOT\nRUN -".to_owned(),
        ),
        // A base image with a quote inside a variable's braces: the quote
        // vanished from check's expansion, and import removes it as
        // BuildKit does. Check now refuses quotes in references.
        (
            "export-dockerfile",
            "[stages.n]\nfrom=\"e\"\nsteps=[{run=\"\"\"a\"\"\"}]\n[stages.h]\nfrom=\"${'}\"".to_owned(),
        ),
        // A label name nesting `${` past the bound: check measured only
        // values, import measures the whole LABEL line.
        (
            "export-dockerfile",
            format!(
                "[stages.e]\nfrom=\"b\"\nlabels={{\"{}\"=\"\"}}",
                "${".repeat(65)
            ),
        ),
        // A label name and value nesting 40 deep each: one LABEL line
        // nesting 80 deep, which import measured whole and refused.
        (
            "export-dockerfile",
            format!(
                "[stages.e]\nfrom=\"b\"\nlabels={{\"{0}\"=\"{0}\"}}",
                "${".repeat(40)
            ),
        ),
        // A cache mount's target holding a single quote: BuildKit reads it
        // as the start of a quoted word, which swallowed the command.
        (
            "export-dockerfile",
            "[stages.build]\nfrom=\"m\"\nsteps=[{run=\".\",mounts=[{type=\"cache\",target=\"'\"}]}]".to_owned(),
        ),
        // A copy destination ending in the escape: the exported line
        // joined the next one.
        ("import", "FROM b\nCOPY o /\u{a0}".to_owned()),
    ];
    let scratch = std::env::temp_dir().join(format!("stages-fuzz-findings-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch directory");
    let failed: Vec<String> = findings
        .iter()
        .filter_map(|(command, input)| {
            supervise::replay(command, input.as_bytes(), &scratch)
                .map(|why| format!("{command}: {why}"))
        })
        .collect();
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(failed.is_empty(), "{failed:#?}");
}

/// The worker process of the runs above; it is started by them, with
/// `STAGES_FUZZ_ROLE=worker`.
#[test]
#[ignore = "started by bounded_mutation_run and scripts/fuzz.sh"]
fn fuzz_worker() {
    assert_eq!(
        std::env::var("STAGES_FUZZ_ROLE").as_deref(),
        Ok("worker"),
        "this is the fuzz harness's worker: run bounded_mutation_run or scripts/fuzz.sh"
    );
    supervise::worker();
}

/// `scripts/fuzz.sh`: runs for `STAGES_FUZZ_SECONDS` as worker
/// `STAGES_FUZZ_WORKER` (each worker its own seed), then minimises and
/// saves every distinct failure under fuzz-findings/ and prints a summary
/// the script adds up.
#[test]
#[ignore = "run by scripts/fuzz.sh"]
fn fuzz_for_duration() {
    let seconds =
        env_u64("STAGES_FUZZ_SECONDS").expect("STAGES_FUZZ_SECONDS is set by scripts/fuzz.sh");
    let worker = env_u64("STAGES_FUZZ_WORKER").unwrap_or(0);
    let seed = env_u64("STAGES_FUZZ_SEED")
        .unwrap_or_else(|| supervise::unix_now().wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ worker)
        ^ worker.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let deadline = supervise::unix_now() + seconds;
    let plan = Plan {
        seed,
        start: 0,
        end: u64::MAX,
        deadline,
        binary_every: BINARY_EVERY,
    };
    let summary = supervise(&plan);
    let seeds = mutate::seeds();
    let budget = Duration::from_secs(env_u64("STAGES_FUZZ_MINIMISE_SECONDS").unwrap_or(60));
    let saved = supervise::save(&summary.failures, &seeds, &findings_dir(), Some(budget));
    for (command, n) in &summary.runs {
        println!("@summary runs {command} {n}");
    }
    for failure in &summary.failures {
        println!(
            "@summary failure {} (seed {} input {})",
            failure.signature(),
            failure.seed,
            failure.index
        );
    }
    for folder in saved {
        println!("@summary saved {}", folder.display());
    }
}

/// For every stages.toml `check` accepts, `export-dockerfile` succeeds
/// and importing its output gives back the same project: generated files
/// whose values are drawn from the characters that break references,
/// names and flags (spaces, Unicode spaces, quotes, `$`, `=`, `-`, upper
/// case, colons).
mod check_accepts_export_succeeds {
    use proptest::prelude::*;
    use stages::check::check;
    use stages::diagnostics::SourceFile;

    fn hostile() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9]{1,6}",
            "[a-z0-9]{1,4}:[a-z0-9.]{1,4}",
            "[a-zA-Z0-9 :/@._'\"$={}\\\\-]{0,10}",
            "[a-z\u{a0}\u{3000} ]{1,6}",
            Just(String::new()),
            Just("--build-arg".to_owned()),
            Just("'''assets".to_owned()),
            Just("${TAG}".to_owned()),
            Just("alpine:${TAG}".to_owned()),
            Just("Alpine::3.20::".to_owned()),
            Just("a b".to_owned()),
        ]
    }

    fn quoted(text: &str) -> String {
        serde_json::Value::String(text.to_owned()).to_string()
    }

    fn project(values: &[String], present: &[bool]) -> String {
        let q = |i: usize| quoted(&values[i]);
        let mut text = format!(
            "[args]\n{} = {}\nTAG = \"1\"\n\n[stages.base]\nfrom = {}\n",
            q(0),
            q(1),
            q(2)
        );
        if present[0] {
            text.push_str(&format!("workdir = {}\n", q(3)));
        }
        if present[1] {
            text.push_str(&format!("user = {}\n", q(4)));
        }
        if present[2] {
            text.push_str(&format!("env = {{ {} = {} }}\n", q(5), q(6)));
        }
        if present[3] {
            text.push_str(&format!("args = {{ {} = {{}} }}\n", q(7)));
        }
        if present[4] {
            text.push_str(&format!("platform = {}\n", q(8)));
        }
        text.push_str("steps = [\n");
        if present[5] {
            text.push_str(&format!(
                "  {{ copy = {}, to = {}, chown = {}, chmod = {} }},\n",
                q(9),
                q(10),
                q(11),
                q(12)
            ));
        }
        if present[6] {
            text.push_str(&format!(
                "  {{ copy = \"a\", to = \"/b\", from-image = {} }},\n",
                q(13)
            ));
        }
        if present[7] {
            text.push_str(&format!("  {{ run = {}, network = {} }},\n", q(14), q(15)));
        }
        if present[8] {
            text.push_str(&format!("  {{ arg = {{ {} = {} }} }},\n", q(16), q(17)));
        }
        text.push_str("]\n\n[targets.app]\nstage = \"base\"\n");
        if present[9] {
            text.push_str(&format!("tags = [{}]\n", q(18)));
        }
        text
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 400,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        #[test]
        fn what_check_accepts_exports_and_imports_back(
            values in proptest::collection::vec(hostile(), 19),
            present in proptest::collection::vec(any::<bool>(), 10),
        ) {
            let text = project(&values, &present);
            let outcome = check(&SourceFile::new("stages.toml", text.as_str()));
            if let Some(project) = outcome.project
                && let Err(why) = super::drive::survives_export(&project)
            {
                panic!("check accepts this file, but {why}\n--- stages.toml\n{text}");
            }
        }
    }
}

/// The hang watch counts processor time, so a command waiting for a core
/// on a loaded machine is not a hang, and a blocked one still is.
#[test]
fn the_hang_watch_counts_processor_time_and_still_stops_a_blocked_command() {
    use std::process::Command;
    use supervise::Watch;
    let mut spinning = Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .expect("sh starts");
    let watch = Watch::start(
        spinning.id(),
        Duration::from_millis(300),
        Duration::from_secs(600),
    );
    let started = std::time::Instant::now();
    while !watch.over() && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let caught = watch.over();
    let _ = spinning.kill();
    let _ = spinning.wait();
    assert!(
        caught,
        "a spinning process was not caught by its processor time"
    );

    let mut sleeping = Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep starts");
    let watch = Watch::start(
        sleeping.id(),
        Duration::from_millis(300),
        Duration::from_secs(1),
    );
    std::thread::sleep(Duration::from_millis(400));
    let early = watch.over();
    std::thread::sleep(Duration::from_millis(900));
    let late = watch.over();
    let _ = sleeping.kill();
    let _ = sleeping.wait();
    assert!(
        !early,
        "a sleeping process used no processor time, yet counted as over"
    );
    assert!(late, "a blocked process past the wall limit was not caught");
}
