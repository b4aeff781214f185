//! `stages builders ls`: each remote builder's address, whether it
//! answers, its workers and their platforms; and the address handling
//! `stages build --builder` shares.

use miette::{IntoDiagnostic, miette};

use super::Exit;
use super::common::{find_config, load_project};
use crate::cli::{BuilderTlsArgs, BuildersLsArgs, ConfigArg};
use crate::engine::buildkit::remote::address::{BuilderAddress, TlsFiles, parse_address};
use crate::engine::buildkit::remote::connect::{ConnectError, ContainerEngine, connect};
use crate::engine::buildkit::remote::farm::Builder;

/// The addresses given, parsed; the first bad one is the error.
pub fn parse_builders(
    addresses: &[String],
    tls: &BuilderTlsArgs,
) -> miette::Result<Vec<BuilderAddress>> {
    let files = TlsFiles {
        ca: tls.ca.clone(),
        cert: tls.cert.clone(),
        key: tls.key.clone(),
    };
    let mut parsed: Vec<BuilderAddress> = Vec::new();
    for text in addresses {
        let address = parse_address(text, &files).map_err(|e| {
            miette!(
                code = "stages::builder::bad-address",
                help = "see `stages build --help` and docs/builders.md",
                "{e}"
            )
        })?;
        if parsed.contains(&address) {
            return Err(miette!(
                code = "stages::builder::bad-address",
                "builder {address} is given twice"
            ));
        }
        parsed.push(address);
    }
    Ok(parsed)
}

/// With no `--builder` nor `BUILDKIT_HOST`: the builder stages.toml's
/// `[project] builder` names, as `stages build` would use it.
fn project_builder(config: &ConfigArg) -> Result<Vec<String>, Exit> {
    if config.file.is_none() && !find_config(config).is_file() {
        eprintln!(
            "error: no builder to ask: give --builder ADDRESS, set BUILDKIT_HOST, or name one in stages.toml's [project] builder"
        );
        return Err(Exit::Usage);
    }
    let loaded = load_project(config)?;
    match &loaded.project.builder {
        Some(builder) => Ok(vec![builder.value.clone()]),
        None => {
            eprintln!(
                "error: {} names no builder: give --builder ADDRESS, set BUILDKIT_HOST, or set [project] builder",
                loaded.path.display()
            );
            Err(Exit::Usage)
        }
    }
}

/// Connects to every builder at once; each answer in the given order.
pub async fn connect_all(
    addresses: &[BuilderAddress],
    engine: &ContainerEngine,
) -> Vec<Result<Builder, ConnectError>> {
    let attempts = addresses.iter().map(|address| async move {
        let (control, workers) = connect(address, engine).await?;
        Ok(Builder {
            address: address.clone(),
            control,
            workers,
        })
    });
    futures_util::future::join_all(attempts).await
}

pub fn ls(args: BuildersLsArgs) -> miette::Result<Exit> {
    let texts = if args.builders.is_empty() {
        match project_builder(&args.config) {
            Ok(texts) => texts,
            Err(exit) => return Ok(exit),
        }
    } else {
        args.builders.clone()
    };
    let addresses = parse_builders(&texts, &args.tls)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    let engine = ContainerEngine {
        host: args.engine.host.clone(),
        context: args.engine.context.clone(),
    };
    let answers = runtime.block_on(connect_all(&addresses, &engine));
    let mut exit = Exit::Success;
    for (address, answer) in addresses.iter().zip(answers) {
        println!("{address}");
        match answer {
            Ok(builder) => {
                println!("  reachable: yes");
                for worker in &builder.workers {
                    let how: Vec<&str> =
                        [worker.executor.as_deref(), worker.snapshotter.as_deref()]
                            .into_iter()
                            .flatten()
                            .collect();
                    let how = if how.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", how.join(", "))
                    };
                    println!("  worker {}{how}", worker.id);
                    println!("    platforms: {}", worker.platforms.join(", "));
                }
                if builder.workers.is_empty() {
                    println!("  workers: none");
                }
            }
            Err(error) => {
                println!("  reachable: no: {error}");
                exit = Exit::Failure;
            }
        }
    }
    Ok(exit)
}
