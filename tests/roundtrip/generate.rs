//! Projects generated for the property test of `import(export(c))`:
//! stages, keys, every step kind export and import share, image config.

use proptest::prelude::*;
use stages::config::forms::{CommandForm, HealthcheckTable};
use stages::config::model::{
    Add, ArgDecl, Base, Copy, CopyFrom, CopyOptions, Health, ImageConfig, Mount, MountKind,
    MountType, Project, Run, Stage, Step, StepKind,
};
use stages::located::Located;

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9._=/-]{0,9}"
}

fn value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ./:_\"'$-]{0,12}"
}

fn name() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9_]{0,5}"
}

fn here<T>(value: T) -> Located<T> {
    Located::unplaced(value)
}

fn shell_line() -> impl Strategy<Value = String> {
    (
        word(),
        prop::collection::vec(
            (
                prop::sample::select(vec![" ", " && ", "    && ", " | "]),
                word(),
            ),
            0..14,
        ),
    )
        .prop_map(|(first, rest)| {
            let mut text = first;
            for (sep, w) in rest {
                text.push_str(sep);
                text.push_str(&w);
            }
            text
        })
}

fn command() -> impl Strategy<Value = CommandForm> {
    prop_oneof![
        shell_line().prop_map(CommandForm::Shell),
        prop::collection::vec(shell_line(), 2..4)
            .prop_map(|lines| CommandForm::Shell(lines.join("\n") + "\n")),
        prop::collection::vec(value(), 1..4).prop_map(CommandForm::Exec),
    ]
}

fn unique_pairs(
    keys: impl Strategy<Value = String>,
) -> impl Strategy<Value = Vec<(Located<String>, Located<String>)>> {
    prop::collection::btree_map(keys, value(), 1..3)
        .prop_map(|m| m.into_iter().map(|(k, v)| (here(k), here(v))).collect())
}

fn args() -> impl Strategy<Value = Vec<ArgDecl>> {
    prop::collection::btree_map(name(), prop::option::of(value()), 0..3).prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| ArgDecl {
                name: here(k),
                default: v,
            })
            .collect()
    })
}

fn step(earlier: Vec<String>) -> impl Strategy<Value = StepKind> {
    let from_stage = if earlier.is_empty() {
        vec!["".to_owned()]
    } else {
        earlier
    };
    prop_oneof![
        command().prop_map(|c| StepKind::Run(Run {
            command: here(c),
            mounts: Vec::new(),
            network: None,
            security: None,
            devices: Vec::new(),
        })),
        (
            prop::collection::vec(word(), 1..3),
            word(),
            prop::option::of("[0-9]{1,4}:[0-9]{1,4}")
        )
            .prop_map(|(sources, to, chown)| StepKind::Copy(Copy {
                sources: sources.into_iter().map(here).collect(),
                to: here(format!("/{to}")),
                from: None,
                options: CopyOptions {
                    chown: chown.map(here),
                    chmod: None,
                    link: false
                },
                exclude: Vec::new(),
                parents: false,
                heredocs: Vec::new(),
            })),
        (
            prop::sample::select(from_stage),
            word(),
            word(),
            any::<bool>()
        )
            .prop_map(|(stage, path, to, link)| {
                if stage.is_empty() {
                    return StepKind::Workdir(here(format!("/{path}")));
                }
                StepKind::Copy(Copy {
                    sources: vec![here(format!("/{path}"))],
                    to: here(format!("/{to}")),
                    from: Some(CopyFrom::Stage(here(stage))),
                    options: CopyOptions {
                        chown: None,
                        chmod: None,
                        link,
                    },
                    exclude: Vec::new(),
                    parents: false,
                    heredocs: Vec::new(),
                })
            }),
        unique_pairs(name()).prop_map(StepKind::Env),
        args()
            .prop_filter("one arg at least", |a| !a.is_empty())
            .prop_map(StepKind::Arg),
        "[a-z]{1,8}".prop_map(|u| StepKind::User(here(u))),
        (
            shell_line(),
            prop::collection::vec(mount(), 1..3),
            prop::option::of(prop::sample::select(vec!["none", "host", "default"])),
            prop::collection::vec(
                "[a-z]{1,6}\\.com/[a-z]{1,6}(=[a-z]{1,4})?(,required)?",
                0..3
            )
        )
            .prop_map(|(cmd, mounts, network, devices)| StepKind::Run(Run {
                command: here(CommandForm::Shell(cmd)),
                mounts: mounts.into_iter().map(here).collect(),
                network: network.map(|n| here(n.to_owned())),
                security: None,
                devices: devices.into_iter().map(here).collect(),
            })),
        (
            prop::collection::vec(shell_line(), 1..3),
            word(),
            prop::option::of("0[0-7]{3}")
        )
            .prop_map(|(lines, to, chmod)| StepKind::Copy(Copy {
                sources: vec![here("<<EOF".to_owned())],
                to: here(format!("/{to}")),
                from: None,
                options: CopyOptions {
                    chown: None,
                    chmod: chmod.map(here),
                    link: false
                },
                exclude: Vec::new(),
                parents: false,
                heredocs: vec![("EOF".to_owned(), lines.join("\n") + "\n")],
            })),
        (
            word(),
            word(),
            prop::option::of("sha256:[0-9a-f]{8}"),
            prop::option::of(any::<bool>())
        )
            .prop_map(|(src, to, checksum, unpack)| {
                StepKind::Add(Add {
                    sources: vec![here(format!("https://example.com/{src}"))],
                    to: here(format!("/{to}")),
                    options: CopyOptions::default(),
                    checksum: checksum.map(here),
                    keep_git_dir: false,
                    exclude: Vec::new(),
                    parents: false,
                    unpack,
                })
            }),
        prop::collection::vec(
            value().prop_filter("a word", |v| !v.trim().is_empty()),
            1..3
        )
        .prop_map(|words| StepKind::Shell(here(words))),
    ]
}

fn mount() -> impl Strategy<Value = Mount> {
    (
        prop::sample::select(vec![
            MountKind::Cache,
            MountKind::Bind,
            MountKind::Tmpfs,
            MountKind::Secret,
        ]),
        word(),
        prop::option::of(word()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(kind, target, id, readonly)| Mount {
            kind: MountType::Known(kind),
            target: Some(format!("/{target}")),
            id: if kind == MountKind::Secret || kind == MountKind::Cache {
                id
            } else {
                None
            },
            readonly: if kind == MountKind::Bind {
                readonly
            } else {
                None
            },
            ..Mount::default()
        })
}

fn config() -> impl Strategy<Value = ImageConfig> {
    (
        prop::option::of(command().prop_filter(
            "one line",
            |c| !matches!(c, CommandForm::Shell(t) if t.contains('\n')),
        )),
        prop::collection::vec("[1-9][0-9]{0,3}(/udp)?", 0..3),
        prop::collection::btree_map("[a-z][a-z.]{0,8}", value(), 0..3),
        (
            prop::option::of(prop::collection::vec(value(), 1..3)),
            prop::collection::vec("/[a-z]{1,6}", 0..2),
            prop::option::of(prop_oneof![
                Just(Health::None),
                (
                    shell_line(),
                    prop::option::of("[1-9][0-9]?s"),
                    prop::option::of(1u32..5)
                )
                    .prop_map(|(cmd, interval, retries)| Health::Check(
                        HealthcheckTable {
                            cmd: CommandForm::Shell(cmd),
                            interval,
                            timeout: None,
                            start_period: None,
                            start_interval: None,
                            retries,
                        }
                    )),
            ]),
            prop::option::of(prop::sample::select(vec!["SIGTERM", "SIGKILL", "9"])),
            prop::collection::vec(shell_line().prop_map(|l| format!("RUN {l}")), 0..2),
            prop::option::of(prop::sample::select(vec![
                "Jane Doe <jane@example.com>",
                "$literal ${not expanded}",
            ])),
        ),
    )
        .prop_map(
            |(
                cmd,
                expose,
                labels,
                (entrypoint, volumes, healthcheck, stop_signal, onbuild, maintainer),
            )| {
                ImageConfig {
                    cmd: cmd.map(here),
                    entrypoint: entrypoint.map(|e| here(CommandForm::Exec(e))),
                    expose: expose.into_iter().map(here).collect(),
                    labels: labels.into_iter().collect(),
                    volumes: volumes.into_iter().map(here).collect(),
                    healthcheck: healthcheck.map(here),
                    stop_signal: stop_signal.map(|s| here(s.to_owned())),
                    onbuild: onbuild.into_iter().map(here).collect(),
                    maintainer: maintainer.map(|m| here(m.to_owned())),
                }
            },
        )
}

fn stage_strategy(index: usize) -> impl Strategy<Value = Stage> {
    let earlier: Vec<String> = (0..index).map(|i| format!("s{i}")).collect();
    let bases: Vec<Base> = ["alpine:3.20", "busybox", "scratch", "debian:${VERSION}"]
        .into_iter()
        .map(|b| Base::Image(b.to_owned()))
        .chain(earlier.iter().map(|s| Base::Stage(s.clone())))
        .collect();
    (
        prop::sample::select(bases),
        args(),
        prop::option::of(unique_pairs(name())),
        prop::option::of("/[a-z]{1,8}"),
        prop::collection::vec(step(earlier), 0..5),
        config(),
        prop::option::of(prop::sample::select(vec!["linux/amd64", "$BUILDPLATFORM"])),
    )
        .prop_map(
            move |(from, args, env, workdir, steps, config, platform)| Stage {
                name: here(format!("s{index}")),
                from: here(from),
                platform: platform.map(|p| here(p.to_owned())),
                args,
                env: env.unwrap_or_default(),
                workdir: workdir.map(here),
                user: None,
                shell: None,
                steps: steps
                    .into_iter()
                    .map(|kind| Step {
                        kind,
                        span: Default::default(),
                    })
                    .collect(),
                config,
            },
        )
}

pub fn project() -> impl Strategy<Value = Project> {
    (
        args(),
        stage_strategy(0),
        prop::option::of(stage_strategy(1)),
        prop::option::of(stage_strategy(2)),
    )
        .prop_map(|(args, a, b, c)| {
            let mut stages = vec![a];
            stages.extend(b);
            if stages.len() == 2 {
                stages.extend(c);
            }
            Project {
                context: ".".into(),
                args,
                stages,
                ..Project::default()
            }
        })
}
