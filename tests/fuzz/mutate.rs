//! The inputs: every example, corpus Dockerfile and invalid stages.toml as
//! seeds, and mutators that bend them into hostile shapes. Input `index`
//! of a run with seed `seed` is always the same bytes, so a failure is
//! named by those two numbers and rebuilt from them.

use std::path::{Path, PathBuf};

/// A small, fast generator (SplitMix64); the same seed gives the same run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    pub fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low)
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A stages.toml.
    Toml,
    Dockerfile,
}

pub struct Seed {
    pub name: String,
    pub kind: Kind,
    pub text: Vec<u8>,
}

/// The corpus folders whose Dockerfiles are seeds.
const CORPUS_FOLDERS: &[&str] = &["real", "buildkit-parser", "buildkit-integration"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every seed, in a fixed order. The corpus is required under CI (see
/// `corpus::root`).
pub fn seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut examples: Vec<PathBuf> = read_dir(&root().join("examples"))
        .into_iter()
        .map(|dir| dir.join("stages.toml"))
        .filter(|file| file.is_file())
        .collect();
    examples.sort();
    let mut invalid: Vec<PathBuf> = read_dir(&root().join("tests/check/invalid"))
        .into_iter()
        .filter(|file| file.extension().is_some_and(|e| e == "toml"))
        .collect();
    invalid.sort();
    for file in examples.iter().chain(&invalid) {
        seeds.push(seed(file, Kind::Toml));
    }
    if let Some(corpus) = crate::corpus::root() {
        for folder in CORPUS_FOLDERS {
            let mut files: Vec<PathBuf> = Vec::new();
            for entry in read_dir(&corpus.join(folder)) {
                if *folder == "real" {
                    let name = entry.file_name().unwrap_or_default();
                    if entry.is_file() && name != "MANIFEST.tsv" {
                        files.push(entry);
                    }
                } else if entry.join("Dockerfile").is_file() {
                    files.push(entry.join("Dockerfile"));
                }
            }
            files.sort();
            seeds.extend(files.iter().map(|f| seed(f, Kind::Dockerfile)));
        }
    }
    seeds
}

fn read_dir(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn seed(path: &Path, kind: Kind) -> Seed {
    let shown = path.strip_prefix(root()).unwrap_or(path);
    Seed {
        name: shown.display().to_string(),
        kind,
        text: std::fs::read(path).unwrap_or_default(),
    }
}

/// One input: which seed, what was done to it, the bytes.
pub struct Input {
    pub seed: usize,
    pub kind: Kind,
    pub mutations: Vec<&'static str>,
    pub bytes: Vec<u8>,
}

/// Input `index` of the run `run_seed`: a seed (half the time a
/// stages.toml, so the few of them weigh as much as the many
/// Dockerfiles) and one to three mutations.
pub fn input(seeds: &[Seed], run_seed: u64, index: u64) -> Input {
    let mut rng = Rng::new(run_seed ^ index.wrapping_mul(0xA076_1D64_78BD_642F));
    let want = if rng.chance(2) {
        Kind::Toml
    } else {
        Kind::Dockerfile
    };
    let of_kind: Vec<usize> = (0..seeds.len())
        .filter(|&i| seeds[i].kind == want)
        .collect();
    let chosen = if of_kind.is_empty() {
        rng.below(seeds.len())
    } else {
        *rng.pick(&of_kind)
    };
    let kind = seeds[chosen].kind;
    let mut bytes = seeds[chosen].text.clone();
    let mut mutations = Vec::new();
    for _ in 0..rng.range(1, 4) {
        let (name, mutate) = *rng.pick(MUTATORS);
        mutate(&mut rng, &mut bytes, kind, seeds);
        mutations.push(name);
    }
    Input {
        seed: chosen,
        kind,
        mutations,
        bytes,
    }
}

type Mutator = fn(&mut Rng, &mut Vec<u8>, Kind, &[Seed]);

pub const MUTATORS: &[(&str, Mutator)] = &[
    ("flip-bytes", flip_bytes),
    ("insert-odd-bytes", insert_odd_bytes),
    ("unicode-spaces", unicode_spaces),
    ("truncate", truncate),
    ("duplicate-lines", duplicate_lines),
    ("splice-lines", splice_lines),
    ("delete-lines", delete_lines),
    ("long-line", long_line),
    ("deep-nesting", deep_nesting),
    ("continuation-chain", continuation_chain),
    ("hostile-values", hostile_values),
    ("repeated-words", repeated_words),
];

/// Byte offsets where lines start.
fn line_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1),
    );
    starts
}

/// Line `n` as a byte range (without its newline).
fn line_range(bytes: &[u8], starts: &[usize], n: usize) -> (usize, usize) {
    let start = starts[n];
    let end = starts
        .get(n + 1)
        .map_or(bytes.len(), |next| next.saturating_sub(1));
    (start, end.max(start))
}

// Every mutator has the `Mutator` signature; this one happens not to grow
// or shrink its input.
#[allow(clippy::ptr_arg)]
fn flip_bytes(rng: &mut Rng, bytes: &mut Vec<u8>, _: Kind, _: &[Seed]) {
    if bytes.is_empty() {
        return;
    }
    for _ in 0..rng.range(1, 9) {
        let at = rng.below(bytes.len());
        bytes[at] ^= 1 << rng.below(8);
    }
}

const ODD: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\xc3",
    "é".as_bytes(),
    "café".as_bytes(),
    "🦀".as_bytes(),
    "\u{a0}".as_bytes(),
    "\u{2003}".as_bytes(),
    "\u{3000}".as_bytes(),
    "\u{feff}".as_bytes(),
    "\u{202e}".as_bytes(),
    b"\r",
    b"\r\n",
    b"\t",
    b"\"",
    b"'",
    b"'''",
    b"\"\"\"",
    b"\\",
    b"`",
    b"$",
    b"${",
    b"}",
    b"[",
    b"]",
    b"{",
    b"=",
    b"#",
    b"--",
    b"\n",
    b"<<EOF",
    b" \\\n",
];

fn insert_odd_bytes(rng: &mut Rng, bytes: &mut Vec<u8>, _: Kind, _: &[Seed]) {
    for _ in 0..rng.range(1, 6) {
        let at = rng.below(bytes.len() + 1);
        let what = *rng.pick(ODD);
        bytes.splice(at..at, what.iter().copied());
    }
}

const UNICODE_SPACES: &[&str] = &[
    "\u{a0}", "\u{2003}", "\u{3000}", "\u{2009}", "\u{85}", "\u{2028}",
];

fn unicode_spaces(rng: &mut Rng, bytes: &mut Vec<u8>, _: Kind, _: &[Seed]) {
    let space = rng.pick(UNICODE_SPACES).as_bytes();
    let every = rng.range(1, 6);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    for &b in bytes.iter() {
        if b == b' ' && rng.chance(every) {
            out.extend_from_slice(space);
        } else {
            out.push(b);
        }
    }
    *bytes = out;
}

fn truncate(rng: &mut Rng, bytes: &mut Vec<u8>, _: Kind, _: &[Seed]) {
    let at = rng.below(bytes.len() + 1);
    bytes.truncate(at);
}

fn duplicate_lines(rng: &mut Rng, bytes: &mut Vec<u8>, _: Kind, _: &[Seed]) {
    let starts = line_starts(bytes);
    let n = rng.below(starts.len());
    let count = rng.range(1, 4).min(starts.len() - n);
    let (start, _) = line_range(bytes, &starts, n);
    let (_, end) = line_range(bytes, &starts, n + count - 1);
    let mut copy = bytes[start..end].to_vec();
    copy.push(b'\n');
    let times = if rng.chance(8) { rng.range(2, 200) } else { 1 };
    let at = starts[rng.below(starts.len())];
    let repeated: Vec<u8> = copy.repeat(times);
    bytes.splice(at..at, repeated);
}

fn splice_lines(rng: &mut Rng, bytes: &mut Vec<u8>, kind: Kind, seeds: &[Seed]) {
    let donors: Vec<&Seed> = seeds.iter().filter(|s| s.kind == kind).collect();
    if donors.is_empty() {
        return;
    }
    let donor = &rng.pick(&donors).text;
    let donor_starts = line_starts(donor);
    let n = rng.below(donor_starts.len());
    let count = rng.range(1, 6).min(donor_starts.len() - n);
    let (start, _) = line_range(donor, &donor_starts, n);
    let (_, end) = line_range(donor, &donor_starts, n + count - 1);
    let mut piece = donor[start..end].to_vec();
    piece.push(b'\n');
    let starts = line_starts(bytes);
    let at = starts[rng.below(starts.len())];
    bytes.splice(at..at, piece);
}

fn delete_lines(rng: &mut Rng, bytes: &mut Vec<u8>, _: Kind, _: &[Seed]) {
    let starts = line_starts(bytes);
    let n = rng.below(starts.len());
    let count = rng.range(1, 4).min(starts.len() - n);
    let (start, _) = line_range(bytes, &starts, n);
    let end = starts.get(n + count).copied().unwrap_or(bytes.len());
    bytes.drain(start..end.max(start));
}

/// A line over 65,536 columns: inside some line, as a new line with a
/// problem past its 65,536th column, or as the whole file.
fn long_line(rng: &mut Rng, bytes: &mut Vec<u8>, kind: Kind, _: &[Seed]) {
    let length = rng.range(65_537, 70_000);
    let filler = *rng.pick(&["A", "x", " ", "-", "é"]);
    let run = filler.repeat(length / filler.len());
    let line = match (kind, rng.below(5)) {
        (_, 0) => {
            let at = rng.below(bytes.len() + 1);
            bytes.splice(at..at, run.into_bytes());
            return;
        }
        (Kind::Toml, 1) => format!("# {run}\n"),
        (Kind::Toml, 2) => format!(
            "[stages.long]\nfrom = \"alpine\"\nsteps = [{{ run = \"{run}\", bogus = 1 }}]\n"
        ),
        (Kind::Toml, 3) => format!("[stages.long]\nfrom = {{ stage = \"{run}\" }}\n"),
        (Kind::Toml, _) => format!("x = \"{run}\" bogus\n"),
        (Kind::Dockerfile, 1) => format!("# {run}\n"),
        (Kind::Dockerfile, 2) => format!("EXPOSE 80 {run} 80/bogus\n"),
        (Kind::Dockerfile, 3) => format!("COPY --from={run} --bogus=1 a /b\n"),
        (Kind::Dockerfile, _) => format!("RUN {run}\nFROM {run}\n"),
    };
    if rng.chance(4) {
        // The whole file one long line: nothing else to report on.
        *bytes = line.into_bytes();
        return;
    }
    let starts = line_starts(bytes);
    let at = starts[rng.below(starts.len())];
    bytes.splice(at..at, line.into_bytes());
}

/// `${A:-${A:-…}}` nested hundreds to thousands deep.
fn deep_nesting(rng: &mut Rng, bytes: &mut Vec<u8>, kind: Kind, _: &[Seed]) {
    let depth = rng.range(200, 5_001);
    let mut nested = "${A:-".repeat(depth);
    nested.push('x');
    nested.push_str(&"}".repeat(depth));
    let line = match (kind, rng.below(3)) {
        (Kind::Toml, 0) => {
            format!("[stages.deep]\nfrom = \"alpine\"\nenv = {{ B = \"{nested}\" }}\n")
        }
        (Kind::Toml, 1) => format!("[args]\nA = \"\"\n[stages.deep]\nfrom = \"{nested}\"\n"),
        (Kind::Toml, _) => format!(
            "[stages.deep]\nfrom = \"alpine\"\nsteps = [{{ copy = \"{nested}\", to = \"/x\" }}]\n"
        ),
        (Kind::Dockerfile, 0) => format!("ENV B={nested}\n"),
        (Kind::Dockerfile, 1) => format!("FROM {nested}\n"),
        (Kind::Dockerfile, _) => format!("COPY {nested} /x\n"),
    };
    if rng.chance(3) {
        let at = rng.below(bytes.len() + 1);
        bytes.splice(at..at, nested.into_bytes());
    } else {
        let starts = line_starts(bytes);
        let at = starts[rng.below(starts.len())];
        bytes.splice(at..at, line.into_bytes());
    }
}

/// Thousands of continuation lines in one instruction.
fn continuation_chain(rng: &mut Rng, bytes: &mut Vec<u8>, kind: Kind, _: &[Seed]) {
    let lines = rng.range(500, 20_000);
    let text = match kind {
        Kind::Dockerfile => {
            let keyword = *rng.pick(&[
                "COPY", "ADD", "ARG", "EXPOSE", "VOLUME", "RUN", "ENV", "LABEL",
            ]);
            let word = match keyword {
                "EXPOSE" => "80",
                "ARG" | "ENV" | "LABEL" => "a=b",
                _ => "a",
            };
            let mut text = format!("{keyword} {word} \\\n");
            for _ in 0..lines {
                text.push_str("  ");
                text.push_str(word);
                text.push_str(" \\\n");
            }
            text.push_str(if keyword == "COPY" || keyword == "ADD" {
                "  /dst\n"
            } else {
                "  end\n"
            });
            text
        }
        Kind::Toml => {
            let mut text =
                String::from("[stages.chain]\nfrom = \"alpine\"\nsteps = [{ run = \"\"\"a \\\n");
            for _ in 0..lines {
                text.push_str("  b \\\n");
            }
            text.push_str("  c\"\"\" }]\n");
            text
        }
    };
    let starts = line_starts(bytes);
    let at = starts[rng.below(starts.len())];
    bytes.splice(at..at, text.into_bytes());
}

/// Values that are plausible but wrong for Docker: references with
/// spaces, upper case or stray colons, flag-like ARG names, quotes in
/// flag values, odd tags.
const HOSTILE_TOML: &[&str] = &[
    "[stages.h]\nfrom = \"alpine latest\"\n",
    "[stages.h]\nfrom = \"alpine\u{a0}latest\"\n",
    "[stages.h]\nfrom = \"Alpine::3.20::\"\n",
    "[stages.h]\nfrom = \"alpine:${TAG}\"\n",
    "[stages.h]\nfrom = \"${REGISTRY:-Bad Host}/x\"\n",
    "[stages.h]\nfrom = \"localhost:5000/a/b:c@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\n",
    "[args]\n\"\" = \"x\"\n",
    "[args]\n\"--build-arg\" = \"x\"\n",
    "[args]\n\"a b\" = \"x\"\n",
    "[stages.h]\nfrom = \"alpine\"\nargs = { \"-x\" = {} }\n",
    "[stages.h]\nfrom = \"alpine\"\nsteps = [{ copy = \"a\", to = \"/b\", from-image = \"'''assets\" }]\n",
    "[stages.h]\nfrom = \"alpine\"\nsteps = [{ copy = \"a\", to = \"/b\", chown = \"a b\" }]\n",
    "[stages.h]\nfrom = \"alpine\"\nsteps = [{ copy = \"a\", to = \"/b\", chmod = \"'7'\" }]\n",
    "[stages.h]\nfrom = \"alpine\"\nsteps = [{ run = \"true\", mounts = [{ type = \"bind\", from = \"Not A Ref\", target = \"/m\" }] }]\n",
    "[stages.h]\nfrom = \"alpine\"\n[targets.h]\nstage = \"h\"\ntags = [\"Newcomer-Hello:dev\", \"a b\"]\n",
    "[stages.h]\nfrom = \"alpine\"\n[targets.h]\nstage = \"h\"\ntags = [\"x:-bad\", \"x:\", \"ok:1.0\"]\n",
    "[stages.h]\nfrom = \"alpine\"\nworkdir = \"/a\\nb\"\n",
    "[stages.h]\nfrom = \"alpine\"\nenv = { \"\" = \"x\" }\n",
    "[stages.h]\nfrom = \"alpine\"\nplatform = \"linux/amd64 x\"\n",
];

const HOSTILE_DOCKERFILE: &[&str] = &[
    "ARG a --build-arg b\n",
    "ARG --x\n",
    "ARG \"\"=x\n",
    "FROM alpine latest\n",
    "FROM Alpine::3.20:: AS h\n",
    "FROM alpine\u{a0}latest AS h\n",
    "COPY --from='''assets a /b\n",
    "COPY --chown=café a /b\n",
    "COPY --chmod=\"7 7\" a /b\n",
    "RUN --mount=type=bind,from=Not,target=/m true\n",
    "ENV \"\"=x\n",
    "FROM ${IMAGE:-Bad Image}\n",
    "ONBUILD ONBUILD RUN x\n",
    "HEALTHCHECK --interval=1 CMD true\n",
];

fn hostile_values(rng: &mut Rng, bytes: &mut Vec<u8>, kind: Kind, _: &[Seed]) {
    let text = match kind {
        Kind::Toml => *rng.pick(HOSTILE_TOML),
        Kind::Dockerfile => *rng.pick(HOSTILE_DOCKERFILE),
    };
    let starts = line_starts(bytes);
    let at = if kind == Kind::Toml && rng.chance(2) {
        bytes.len()
    } else {
        starts[rng.below(starts.len())]
    };
    if at == bytes.len() && !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    let at = at.min(bytes.len());
    bytes.splice(at..at, text.bytes());
}

/// One bad word many times on a line: many diagnostics on one long line.
fn repeated_words(rng: &mut Rng, bytes: &mut Vec<u8>, kind: Kind, _: &[Seed]) {
    let times = rng.range(100, 3_000);
    let line = match kind {
        Kind::Dockerfile => format!("EXPOSE {}\n", "80/bogus ".repeat(times)),
        Kind::Toml => format!(
            "[stages.many]\nfrom = \"alpine\"\nexpose = [{}]\n",
            "\"80/bogus\", ".repeat(times)
        ),
    };
    let starts = line_starts(bytes);
    let at = starts[rng.below(starts.len())];
    bytes.splice(at..at, line.into_bytes());
}
