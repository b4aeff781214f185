use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use stages::cli::{BuildArgs, BuildersCommand, CacheCommand, Cli, Command, DockerfileCommand};
use stages::commands::{self, Exit};

fn main() -> ExitCode {
    // With COMPLETE set (by the script `stages completions SHELL` prints),
    // answer the shell's completion request and exit.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(commands::completions::COMPLETE_VAR)
        .complete();
    let cli = Cli::parse();
    let output = commands::output::init(cli.color, cli.quiet, cli.verbose);
    let color = output.color;
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(miette::MietteHandlerOpts::new().color(color).build())
    }));
    let outcome = match cli.command {
        Command::Check(args) => commands::check::run(args),
        Command::Lint(args) => commands::lint::run(args),
        Command::Graph(args) => commands::graph::run(args),
        Command::Plan(args) => commands::plan::run(args),
        Command::Schema(args) => commands::schema::run(args),
        Command::Init(args) => commands::init::run(args),
        Command::Completions(args) => commands::completions::run(args),
        Command::Dockerfile(DockerfileCommand::Dump(args)) => commands::dockerfile::dump(args),
        Command::Dockerfile(DockerfileCommand::Outline(args)) => {
            commands::dockerfile::outline(args)
        }
        Command::Dockerfile(DockerfileCommand::Fmt(args)) => commands::dockerfile::fmt(args),
        Command::Dockerfile(DockerfileCommand::Lint(args)) => commands::lint::dockerfile(args),
        Command::ExportDockerfile(args) => commands::export::run(args),
        Command::Import(args) => commands::import::run(args),
        Command::Migrate(args) => commands::migrate::run(args),
        Command::Build(args) => commands::build::run(args),
        Command::Debug(args) => commands::build::run(BuildArgs {
            debug: true,
            ..args
        }),
        Command::Lock(args) => commands::lock::run(args),
        Command::Why(args) => commands::why::run(args),
        Command::Cache(CacheCommand::Ls(args)) => commands::cache::ls(args),
        Command::Cache(CacheCommand::Prune(args)) => commands::cache::prune(args),
        Command::Builders(BuildersCommand::Ls(args)) => commands::builders::ls(args),
    };
    let exit = outcome.unwrap_or_else(|report| {
        eprintln!("{report:?}");
        Exit::Usage
    });
    ExitCode::from(exit.code())
}
