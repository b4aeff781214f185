//! Parsing throughput over the `real/` corpus: ours (syntax tree, and all
//! the way to typed stages) against the `parse-dockerfile` crate on the same
//! files in the same run. Prints the ratio; asserts nothing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

fn corpus_files() -> Vec<String> {
    let root = std::env::var_os("STAGES_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
        PathBuf::from,
    );
    let dir = root.join("real");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "MANIFEST.tsv"))
                .filter_map(|p| std::fs::read(p).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Time of one pass over all files.
fn time_pass(files: &[String], f: impl Fn(&str) -> bool) -> Duration {
    let start = Instant::now();
    for text in files {
        std::hint::black_box(f(std::hint::black_box(text)));
    }
    start.elapsed()
}

/// Median pass times of each parser, the parsers taking turns pass by pass
/// so that a slower moment of a shared machine weighs on all of them alike.
fn median_passes(files: &[String], parsers: &[fn(&str) -> bool]) -> Vec<Duration> {
    let rounds = 201;
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); parsers.len()];
    for _ in 0..rounds {
        for (parser, samples) in parsers.iter().zip(&mut times) {
            samples.push(time_pass(files, parser));
        }
    }
    times
        .into_iter()
        .map(|mut samples| {
            samples.sort();
            samples[rounds / 2]
        })
        .collect()
}

fn ours_syntax(text: &str) -> bool {
    stages::dockerfile::parse(text).is_ok()
}

fn ours_typed(text: &str) -> bool {
    stages::dockerfile::read(text).is_ok()
}

fn theirs(text: &str) -> bool {
    parse_dockerfile::parse(text).is_ok()
}

fn main() {
    let files = corpus_files();
    if files.is_empty() {
        eprintln!("no corpus found (set STAGES_CORPUS): nothing to measure");
        return;
    }
    let bytes: usize = files.iter().map(String::len).sum();
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("parse real corpus");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("stages syntax tree", |b| {
        b.iter(|| files.iter().filter(|t| ours_syntax(t)).count())
    });
    group.bench_function("stages typed stages", |b| {
        b.iter(|| files.iter().filter(|t| ours_typed(t)).count())
    });
    group.bench_function("parse-dockerfile", |b| {
        b.iter(|| files.iter().filter(|t| theirs(t)).count())
    });
    group.finish();
    criterion.final_summary();

    let mb = bytes as f64 / 1e6;
    let medians = median_passes(&files, &[ours_syntax, ours_typed, theirs]);
    let (ours, typed, other) = (medians[0], medians[1], medians[2]);
    let rate = |d: Duration| mb / d.as_secs_f64();
    println!(
        "\n{} files, {:.2} MB per pass; median of passes taken in turn\n  stages (syntax tree): {:8.1} MB/s\n  stages (typed):       {:8.1} MB/s\n  parse-dockerfile:     {:8.1} MB/s\n  ratio stages syntax / parse-dockerfile: {:.2}x\n  ratio stages typed / parse-dockerfile:  {:.2}x",
        files.len(),
        mb,
        rate(ours),
        rate(typed),
        rate(other),
        other.as_secs_f64() / ours.as_secs_f64(),
        other.as_secs_f64() / typed.as_secs_f64()
    );
    let accepted = files.iter().filter(|t| theirs(t)).count();
    println!(
        "  parse-dockerfile accepts {accepted}/{} files",
        files.len()
    );
}
