//! Reading one `docker …` command line (already expanded) as what it does
//! to images and containers: build, create, run, start, cp, rm, rmi, tag. Flags
//! are parsed the way the Docker CLI does (`-f x`, `--file=x`, flags after
//! the context); anything else is `Other`, for the plan to report.

use super::words::Arg;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerCommand {
    Build(Build),
    /// `docker create`: a container that has not run yet.
    Create(Run),
    Run(Run),
    /// `docker start [-a] NAME…`: created containers run their command.
    Start {
        names: Vec<Arg>,
    },
    /// `docker wait`, `docker logs`, `docker stop`, `docker inspect`:
    /// following a container changes nothing it holds.
    Follow,
    /// `docker cp SRC DEST`.
    Cp {
        source: Arg,
        dest: Arg,
    },
    /// `docker rm`, `docker rmi`, `docker image rm`…: cleaning up.
    Remove,
    /// `docker tag SOURCE TARGET`.
    Tag {
        source: Arg,
        tag: Arg,
    },
    /// Anything else: `docker push`, `docker ps`, `docker-compose`…
    Other {
        what: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Build {
    pub file: Option<Arg>,
    pub tags: Vec<Arg>,
    /// `--build-arg` values as written (`K=V` or `K`).
    pub args: Vec<Arg>,
    pub target: Option<Arg>,
    pub no_cache: bool,
    pub context: Option<Arg>,
    /// Flags with no stages.toml form (`--secret`, `--output`, …).
    pub unsupported: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// `--name`.
    pub name: Option<Arg>,
    pub image: Arg,
    pub command: Vec<Arg>,
    pub entrypoint: Option<Arg>,
    /// `-w DIR`: where the command runs.
    pub workdir: Option<Arg>,
    /// `-v HOST:CONTAINER` and `--mount` values.
    pub volumes: Vec<Arg>,
    /// `-d`: the container keeps running (a service).
    pub detach: bool,
    /// `-e NAME=value` (`-e NAME` alone too: the caller's value).
    pub env: Vec<Arg>,
    /// `-u USER`.
    pub user: Option<Arg>,
}

/// Build flags that take a value.
const BUILD_VALUED: &[&str] = &[
    "-f",
    "--file",
    "-t",
    "--tag",
    "--build-arg",
    "--target",
    "--platform",
    "--label",
    "--network",
    "--cache-from",
    "--cache-to",
    "--iidfile",
    "--progress",
    "--secret",
    "--ssh",
    "-o",
    "--output",
    "--add-host",
    "--shm-size",
    "-m",
    "--memory",
    "--memory-swap",
    "--cpu-shares",
    "--cpu-quota",
    "--cpu-period",
    "--cpuset-cpus",
    "--cpuset-mems",
    "--ulimit",
    "--isolation",
    "--cgroup-parent",
    "--builder",
    "--allow",
    "--metadata-file",
    "--attest",
    "--build-context",
    "--security-opt",
];

/// Build flags with no stages.toml equivalent; reported, not dropped.
const BUILD_UNSUPPORTED: &[&str] = &[
    "--push",
    "--secret",
    "--ssh",
    "-o",
    "--output",
    "--build-context",
    "--cache-from",
    "--cache-to",
    "--add-host",
    "--network",
    "--platform",
    "--squash",
    "--security-opt",
    "--label",
];

/// Create and run flags that take a value.
const CONTAINER_VALUED: &[&str] = &[
    "--name",
    "-v",
    "--volume",
    "--mount",
    "-e",
    "--env",
    "--env-file",
    "-w",
    "--workdir",
    "--entrypoint",
    "-u",
    "--user",
    "--network",
    "--net",
    "-p",
    "--publish",
    "--platform",
    "-h",
    "--hostname",
    "-l",
    "--label",
    "--add-host",
    "--cidfile",
    "--restart",
    "-m",
    "--memory",
    "--volumes-from",
    "--tmpfs",
    "--device",
    "--log-driver",
    "--log-opt",
    "--pull",
    "--ulimit",
    "--cap-add",
    "--cap-drop",
    "--security-opt",
    "--shm-size",
    "--dns",
    "--expose",
    "--link",
    "--stop-signal",
    "--stop-timeout",
    "--health-cmd",
    "--ipc",
    "--pid",
];

/// Reads `words` (the first is `docker`) as a docker command.
pub fn recognize(words: &[Arg]) -> DockerCommand {
    let Some(first) = words.first() else {
        return DockerCommand::Other {
            what: String::new(),
        };
    };
    if first.text != "docker" {
        return DockerCommand::Other {
            what: first.text.clone(),
        };
    }
    let rest = skip_buildx_flags(skip_global_flags(&words[1..]));
    let names: Vec<&str> = rest.iter().take(2).map(|a| a.text.as_str()).collect();
    let (command, args) = match names.as_slice() {
        ["image" | "buildx" | "builder", "build"] => ("build", &rest[2..]),
        [
            "container",
            verb
            @ ("create" | "run" | "cp" | "rm" | "start" | "wait" | "logs" | "stop" | "inspect"),
        ] => (*verb, &rest[2..]),
        ["image", verb @ ("rm" | "tag")] => (if *verb == "rm" { "rmi" } else { "tag" }, &rest[2..]),
        ["image", "prune"] | ["container", "prune"] | ["system", "prune"] => {
            return DockerCommand::Remove;
        }
        [verb, ..] => (*verb, &rest[1..]),
        [] => {
            return DockerCommand::Other {
                what: "docker".into(),
            };
        }
    };
    match command {
        "build" => DockerCommand::Build(build(args)),
        "create" => create(args).map_or_else(
            || DockerCommand::Other {
                what: "docker create".into(),
            },
            DockerCommand::Create,
        ),
        "run" => run(args).map_or_else(
            || DockerCommand::Other {
                what: "docker run".into(),
            },
            DockerCommand::Run,
        ),
        "cp" => {
            let operands: Vec<&Arg> = args
                .iter()
                .filter(|a| !a.text.starts_with('-') || a.text == "-")
                .collect();
            match operands.as_slice() {
                [source, dest] => DockerCommand::Cp {
                    source: (*source).clone(),
                    dest: (*dest).clone(),
                },
                _ => DockerCommand::Other {
                    what: "docker cp".into(),
                },
            }
        }
        "start" => DockerCommand::Start {
            names: args
                .iter()
                .filter(|a| !a.text.starts_with('-'))
                .cloned()
                .collect(),
        },
        "wait" | "logs" | "stop" | "inspect" => DockerCommand::Follow,
        "rm" | "rmi" => DockerCommand::Remove,
        "tag" => match args {
            [source, tag] => DockerCommand::Tag {
                source: source.clone(),
                tag: tag.clone(),
            },
            _ => DockerCommand::Other {
                what: "docker tag".into(),
            },
        },
        other => DockerCommand::Other {
            what: format!("docker {other}"),
        },
    }
}

/// `docker -H host --log-level x build …`: the flags before the command.
fn skip_global_flags(words: &[Arg]) -> &[Arg] {
    let mut i = 0;
    while let Some(word) = words.get(i) {
        let flag = word.text.as_str();
        if !flag.starts_with('-') {
            break;
        }
        let valued = matches!(
            flag,
            "-H" | "--host" | "-c" | "--context" | "--config" | "-l" | "--log-level"
        );
        i += if valued { 2 } else { 1 };
    }
    words.get(i..).unwrap_or(&[])
}

/// `docker buildx --builder NAME build …`: buildx's own flags before `build`.
fn skip_buildx_flags(words: &[Arg]) -> &[Arg] {
    if words.first().is_none_or(|w| w.text != "buildx") {
        return words;
    }
    let mut i = 1;
    while let Some(word) = words.get(i) {
        match word.text.as_str() {
            "--builder" => i += 2,
            flag if flag.starts_with("--builder=") || flag == "--debug" || flag == "-D" => i += 1,
            _ => break,
        }
    }
    // `build` alone reads as the build it is.
    match words.get(i) {
        Some(next) if i > 1 && next.text == "build" => &words[i..],
        _ => words,
    }
}

/// One flag: its name, its value (`--x=v` or the next word) and the words used.
struct Flag<'a> {
    name: String,
    value: Option<Arg>,
    word: &'a Arg,
}

/// Splits words into flags and operands; `valued` lists the flags that take a value.
fn split_flags<'a>(
    words: &'a [Arg],
    valued: &[&str],
    stop_at_first_operand: bool,
) -> (Vec<Flag<'a>>, Vec<&'a Arg>) {
    let mut flags = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        i += 1;
        let text = word.text.as_str();
        if text == "--" {
            operands.extend(words[i..].iter());
            break;
        }
        if !text.starts_with('-') || text == "-" {
            operands.push(word);
            if stop_at_first_operand {
                operands.extend(words[i..].iter());
                break;
            }
            continue;
        }
        if let Some((name, value)) = text.split_once('=') {
            let mut arg = word.clone();
            arg.text = value.to_owned();
            flags.push(Flag {
                name: name.to_owned(),
                value: Some(arg),
                word,
            });
        } else if valued.contains(&text) {
            flags.push(Flag {
                name: text.to_owned(),
                value: words.get(i).cloned(),
                word,
            });
            i += 1;
        } else {
            flags.push(Flag {
                name: text.to_owned(),
                value: None,
                word,
            });
        }
    }
    (flags, operands)
}

fn build(words: &[Arg]) -> Build {
    let (flags, operands) = split_flags(words, BUILD_VALUED, false);
    let mut build = Build {
        context: operands.first().map(|a| (*a).clone()),
        ..Build::default()
    };
    for flag in flags {
        let name = flag.name.as_str();
        match (name, flag.value) {
            ("-f" | "--file", Some(v)) => build.file = Some(v),
            ("-t" | "--tag", Some(v)) => build.tags.push(v),
            ("--build-arg", Some(v)) => build.args.push(v),
            ("--target", Some(v)) => build.target = Some(v),
            ("--no-cache", _) => build.no_cache = true,
            (name, _) if BUILD_UNSUPPORTED.contains(&name) => {
                build.unsupported.push(flag.word.clone());
            }
            _ => {}
        }
    }
    build
}

/// `docker create` takes the flags and operands of `docker run`.
fn create(words: &[Arg]) -> Option<Run> {
    run(words)
}

fn run(words: &[Arg]) -> Option<Run> {
    let (flags, operands) = split_flags(words, CONTAINER_VALUED, true);
    let (image, command) = operands.split_first()?;
    let mut run = Run {
        name: None,
        image: (*image).clone(),
        command: command.iter().map(|a| (*a).clone()).collect(),
        entrypoint: None,
        workdir: None,
        volumes: Vec::new(),
        detach: false,
        env: Vec::new(),
        user: None,
    };
    for flag in flags {
        let short_bundle = !flag.name.starts_with("--") && flag.value.is_none();
        if flag.name == "--detach" || short_bundle && flag.name.contains('d') {
            run.detach = true;
        }
        match (flag.name.as_str(), flag.value) {
            ("--name", Some(v)) => run.name = Some(v),
            ("--entrypoint", Some(v)) => run.entrypoint = Some(v),
            ("-w" | "--workdir", Some(v)) => run.workdir = Some(v),
            ("-v" | "--volume" | "--mount" | "--volumes-from", Some(v)) => run.volumes.push(v),
            ("-e" | "--env", Some(v)) => run.env.push(v),
            ("-u" | "--user", Some(v)) => run.user = Some(v),
            _ => {}
        }
    }
    Some(run)
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

    #[test]
    fn build_flags_in_any_order() {
        let DockerCommand::Build(build) = recognize(&args(
            "docker image build --no-cache -t a:1 . --file=Dockerfile.build --build-arg X=1",
        )) else {
            panic!("a build");
        };
        assert_eq!(
            build.file.map(|a| a.text).as_deref(),
            Some("Dockerfile.build")
        );
        assert_eq!(build.context.map(|a| a.text).as_deref(), Some("."));
        assert_eq!(build.tags[0].text, "a:1");
        assert_eq!(build.args[0].text, "X=1");
        assert!(build.no_cache);
    }

    #[test]
    fn long_container_forms() {
        assert!(matches!(
            recognize(&args("docker container create --name x img:b")),
            DockerCommand::Create(Run { name: Some(_), .. })
        ));
        assert!(matches!(
            recognize(&args("docker container start -a x")),
            DockerCommand::Start { names } if names.len() == 1 && names[0].text == "x"
        ));
        assert_eq!(recognize(&args("docker wait x")), DockerCommand::Follow);
        assert!(matches!(
            recognize(&args("docker container cp x:/app ./app")),
            DockerCommand::Cp { .. }
        ));
        assert_eq!(
            recognize(&args("docker container rm -f x")),
            DockerCommand::Remove
        );
        assert!(matches!(
            recognize(&args("docker buildx build -t a .")),
            DockerCommand::Build(_)
        ));
        let DockerCommand::Build(build) = recognize(&args(
            "docker buildx --builder ci build --load -f B.build -t a .",
        )) else {
            panic!("buildx's own flags come before `build`");
        };
        assert_eq!(build.file.map(|a| a.text).as_deref(), Some("B.build"));
        assert_eq!(build.context.map(|a| a.text).as_deref(), Some("."));
    }

    #[test]
    fn run_keeps_its_command_and_volumes() {
        let DockerCommand::Run(run) = recognize(&args(
            "docker run --rm -v /w:/wheelhouse --name=x -e A=1 -u 1000 img:b cat /app -n",
        )) else {
            panic!("a run");
        };
        assert_eq!(run.name.map(|n| n.text).as_deref(), Some("x"));
        assert_eq!(run.env[0].text, "A=1");
        assert_eq!(run.user.map(|u| u.text).as_deref(), Some("1000"));
        assert_eq!(run.image.text, "img:b");
        assert_eq!(run.volumes[0].text, "/w:/wheelhouse");
        let command: Vec<&str> = run.command.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(command, ["cat", "/app", "-n"]);
    }
}
