//! Bench helper: sends a Dockerfile and its context to the Engine's
//! BuildKit as the docker CLI's BuildKit client does, with none of
//! stages' logic (no stages.toml, no checks, no pulls, no tags): the
//! "raw BuildKit" column of `bench/engine.sh`.
//!
//! Usage: raw_buildkit CONTEXT_DIR DOCKERFILE TARGET [--no-cache] [--tag NAME]
//! Prints the image id; exits 1 when the build fails.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use stages::engine::buildkit::auth::RegistryAuth;
use stages::engine::buildkit::filesync::{FileSync, SyncedDir};
use stages::engine::buildkit::ids::random_id;
use stages::engine::buildkit::secrets::Secrets;
use stages::engine::buildkit::session::{Services, Session};
use stages::engine::buildkit::solve::{SolveMessage, SolveRequest, SolveStream};
use stages::engine::buildkit::transport::Endpoint;
use stages::engine::connection::EngineAddress;
use stages::engine::registry::credentials::DockerConfig;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (Some(context), Some(dockerfile), Some(target)) =
        (positional.first(), positional.get(1), positional.get(2))
    else {
        eprintln!("usage: raw_buildkit CONTEXT_DIR DOCKERFILE TARGET [--no-cache]");
        std::process::exit(2);
    };
    let no_cache = args.iter().any(|a| a == "--no-cache");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(build(context, dockerfile, target, no_cache));
    match result {
        Ok(image) => println!("{image}"),
        Err(error) => {
            eprintln!("raw_buildkit: {error}");
            std::process::exit(1);
        }
    }
}

async fn build(
    context: &str,
    dockerfile: &str,
    target: &str,
    no_cache: bool,
) -> Result<String, String> {
    let address = EngineAddress::resolve(None).map_err(|e| e.to_string())?;
    let engine = address.connect().await.map_err(|e| e.to_string())?;
    let endpoint = Endpoint::from_address(engine.address()).map_err(|e| e.to_string())?;
    let api = engine.api_version();
    let text = std::fs::read(dockerfile).map_err(|e| format!("{dockerfile}: {e}"))?;
    let dirs = HashMap::from([
        ("context".to_owned(), SyncedDir::Disk(context.into())),
        (
            "dockerfile".to_owned(),
            SyncedDir::File {
                name: "Dockerfile".to_owned(),
                contents: text.into(),
            },
        ),
    ]);
    let services = Services {
        filesync: FileSync::new(dirs, Arc::new(AtomicU64::new(0))),
        secrets: Secrets::new(BTreeMap::new()),
        auth: RegistryAuth::new(DockerConfig::load().unwrap_or_default()),
        filesend: None,
    };
    let session = Session::open(&endpoint, &api, random_id(), "raw", services)
        .await
        .map_err(|e| e.to_string())?;
    let request = SolveRequest {
        session: session.id.clone(),
        build_id: random_id(),
        dockerfile: "Dockerfile".to_owned(),
        target: target.to_owned(),
        no_cache,
        ..SolveRequest::default()
    };
    let mut stream = SolveStream::start(&endpoint, &api, &request)
        .await
        .map_err(|e| e.to_string())?;
    let mut image = None;
    while let Some(message) = stream.next().await {
        match message.map_err(|e| e.to_string())? {
            SolveMessage::ImageId(id) => image = Some(id),
            SolveMessage::Error(error) => return Err(error),
            SolveMessage::Status(_) | SolveMessage::Output(_) => {}
        }
    }
    image.ok_or_else(|| "no image id".to_owned())
}
