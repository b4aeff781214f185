//! `docker run` used only to copy files out of an image: `… cat /x > x`
//! (or `--entrypoint cat … /x > x`) and `… tar -c … | tar -x …`. Each
//! gives pairs (path inside the image, path on the host); a path inside
//! the image that is not absolute is relative to the image's working
//! directory, which the caller resolves.

use super::docker::Run;
use super::paths;
use super::words::Arg;

/// One file or directory copied out: `path` inside the image lands at
/// `dest` on the host (the directory's contents when it is a directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    pub path: String,
    /// Relative to the directory the host side extracts into.
    pub dest: String,
}

/// The command the container runs: entrypoint first, then the arguments.
fn command(run: &Run) -> Vec<&str> {
    run.entrypoint
        .iter()
        .chain(&run.command)
        .map(|a| a.text.as_str())
        .collect()
}

/// `cat PATH` with standard output sent to a file: the path inside the image.
pub fn cat_path(run: &Run) -> Option<String> {
    match command(run).as_slice() {
        ["cat", path] | ["/bin/cat", path] => Some((*path).to_owned()),
        _ => None,
    }
}

/// Reads tar's options: bundled (`czf`, `-czf`), separate (`-c -f -`) or long
/// (`--directory=x`). Returns the mode letters, `-C` dir, `-f` file, the
/// operands, and options it does not know how to follow.
#[derive(Debug, Default)]
struct Tar {
    modes: String,
    directory: Option<String>,
    file: Option<String>,
    operands: Vec<String>,
    unknown: Vec<String>,
    /// `z`, `j`, `J` or `--zstd`: how the archive is compressed.
    compression: Option<String>,
}

fn parse_tar(words: &[&str]) -> Option<Tar> {
    let (first, rest) = words.split_first()?;
    if paths::file_name(first) != "tar" {
        return None;
    }
    let mut tar = Tar::default();
    let mut i = 0;
    let mut pending: Vec<char> = Vec::new();
    let mut first_word = true;
    while let Some(word) = rest.get(i) {
        i += 1;
        let word = *word;
        if let Some(long) = word.strip_prefix("--") {
            let (name, value) = long
                .split_once('=')
                .map_or((long, None), |(n, v)| (n, Some(v)));
            let mut take = || {
                value.map(str::to_owned).or_else(|| {
                    let v = rest.get(i).map(|v| (*v).to_owned());
                    i += 1;
                    v
                })
            };
            match name {
                "directory" => tar.directory = take(),
                "file" => tar.file = take(),
                "create" => tar.modes.push('c'),
                "extract" | "get" => tar.modes.push('x'),
                "gzip" | "gunzip" | "ungzip" => tar.compression = Some("z".into()),
                "bzip2" => tar.compression = Some("j".into()),
                "xz" => tar.compression = Some("J".into()),
                "zstd" => tar.compression = Some("--zstd".into()),
                "verbose"
                | "same-owner"
                | "no-same-owner"
                | "preserve-permissions"
                | "numeric-owner" => {}
                _ => tar.unknown.push(word.to_owned()),
            }
        } else if let Some(bundle) = word
            .strip_prefix('-')
            .or_else(|| {
                first_word
                    .then_some(word)
                    .filter(|w| !w.contains('/') && !w.contains('.'))
            })
            .filter(|b| !b.is_empty())
        {
            for c in bundle.chars() {
                match c {
                    'c' | 'x' | 't' => tar.modes.push(c),
                    'f' | 'C' => pending.push(c),
                    'z' | 'j' | 'J' => tar.compression = Some(c.to_string()),
                    'v' | 'p' | 'o' => {}
                    _ => tar.unknown.push(format!("-{c}")),
                }
            }
            for c in pending.drain(..) {
                let value = rest.get(i).map(|v| (*v).to_owned());
                i += 1;
                if c == 'f' {
                    tar.file = value;
                } else {
                    tar.directory = value;
                }
            }
        } else {
            tar.operands.push(word.to_owned());
        }
        first_word = false;
    }
    Some(tar)
}

/// `tar -x [-C DIR]` reading standard input whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untar {
    /// The directory it unpacks into (`.` when absent).
    pub into: String,
    /// `z`, `j`, `J` or `--zstd` when it was told the compression.
    pub compression: Option<String>,
}

/// Reads `words` as a `tar -x` of all of standard input.
pub fn untar(words: &[Arg]) -> Option<Untar> {
    let words: Vec<&str> = words.iter().map(|a| a.text.as_str()).collect();
    let unpack = parse_tar(&words)?;
    let from_stdin = unpack.file.as_deref().is_none_or(|f| f == "-");
    (unpack.modes.contains('x')
        && from_stdin
        && unpack.unknown.is_empty()
        && unpack.operands.is_empty())
    .then(|| Untar {
        into: unpack.directory.unwrap_or_else(|| ".".to_owned()),
        compression: unpack.compression,
    })
}

/// The directory [`untar`] unpacks into.
pub fn untar_into(words: &[Arg]) -> Option<String> {
    untar(words).map(|u| u.into)
}

/// `docker run … tar -c … | tar -x …`: what lands where (relative to the
/// extracting side's `-C` directory, also returned, `.` when absent).
pub fn tar_pipe(run: &Run, extract: &[Arg]) -> Option<(Vec<Pulled>, String)> {
    let create = parse_tar(&command(run))?;
    let words: Vec<&str> = extract.iter().map(|a| a.text.as_str()).collect();
    let unpack = parse_tar(&words)?;
    let to_stdout = |t: &Tar| t.file.as_deref().is_none_or(|f| f == "-");
    if !create.modes.contains('c')
        || !unpack.modes.contains('x')
        || !to_stdout(&create)
        || !to_stdout(&unpack)
        || !create.unknown.is_empty()
        || !unpack.unknown.is_empty()
        || !unpack.operands.is_empty()
        || create.operands.is_empty()
    {
        return None;
    }
    let base = create.directory.clone().unwrap_or_default();
    let pulled = create
        .operands
        .iter()
        .map(|operand| {
            let path = if base.is_empty() {
                paths::normalize(operand)
            } else {
                paths::join(&base, operand)
            };
            let dest = paths::normalize(operand.trim_start_matches('/'));
            Pulled { path, dest }
        })
        .collect();
    Some((pulled, unpack.directory.unwrap_or_else(|| ".".to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::located::Span;

    fn args(line: &str) -> Vec<Arg> {
        line.split_whitespace()
            .map(|w| Arg {
                text: w.to_owned(),
                span: Span::default(),
                unset: Vec::new(),
                dynamic: false,
            })
            .collect()
    }

    fn run(command: &str) -> Run {
        let mut words = args(command);
        let image = words.remove(0);
        Run {
            name: None,
            image,
            command: words,
            entrypoint: None,
            workdir: None,
            volumes: Vec::new(),
            detach: false,
            env: Vec::new(),
            user: None,
        }
    }

    #[test]
    fn tar_pipes() {
        let (pulled, into) = tar_pipe(
            &run("img tar -czf - -C /out . bin/app"),
            &args("tar -xzf - -C dist"),
        )
        .expect("a tar pipe");
        assert_eq!(into, "dist");
        assert_eq!(
            pulled,
            [
                Pulled {
                    path: "/out".into(),
                    dest: ".".into()
                },
                Pulled {
                    path: "/out/bin/app".into(),
                    dest: "bin/app".into()
                },
            ]
        );
        let (pulled, into) =
            tar_pipe(&run("img tar c /usr/bin/app"), &args("tar x")).expect("bundled");
        assert_eq!(into, ".");
        assert_eq!(pulled[0].dest, "usr/bin/app");
        assert!(tar_pipe(&run("img tar -c x"), &args("tar -x --strip-components=1")).is_none());
    }

    #[test]
    fn untar_of_standard_input() {
        assert_eq!(
            untar_into(&args("tar -xf - -C out")).as_deref(),
            Some("out")
        );
        assert_eq!(untar_into(&args("tar x")).as_deref(), Some("."));
        assert!(untar_into(&args("tar -x app")).is_none());
        assert!(untar_into(&args("gzip -d")).is_none());
        assert_eq!(
            untar(&args("tar --extract --gzip --directory=out")),
            Some(Untar {
                into: "out".into(),
                compression: Some("z".into())
            })
        );
        assert_eq!(
            untar(&args("tar xJ"))
                .and_then(|u| u.compression)
                .as_deref(),
            Some("J")
        );
    }

    #[test]
    fn cat() {
        assert_eq!(cat_path(&run("img cat /app")).as_deref(), Some("/app"));
        assert!(cat_path(&run("img ls /")).is_none());
    }
}
