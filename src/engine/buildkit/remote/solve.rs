//! The solve on a remote builder: `Control.Solve` with BuildKit's
//! Dockerfile frontend (`dockerfile.v0`, reading the exported Dockerfile
//! and the context through the session), the exporter that publishes the
//! target, and BuildKit's own cache export/import; `Control.Status`
//! streams the same status messages the Engine relays.

use std::collections::{BTreeMap, HashMap};

use bollard_buildkit_proto::moby::buildkit::v1::{
    CacheOptions, CacheOptionsEntry, Exporter, SolveRequest, StatusRequest, StatusResponse,
};
use futures_util::StreamExt;

use super::connect::{Control, describe_status};
use crate::engine::registry::reference::ImageRef;

/// The frontend BuildKit builds Dockerfiles with.
const FRONTEND: &str = "dockerfile.v0";

/// Where the built image goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publish {
    /// Pushed by the builder to every tag's repository by digest only;
    /// the tags are set once every target of the build succeeded.
    Push { tags: Vec<String> },
    /// Sent back as a `docker` exporter tarball, for the local Engine.
    DockerTarball,
    /// An artifact target's files, sent back by the `local` exporter over
    /// the session's file send (one transfer per platform).
    Files,
}

/// `--cache-to` / `--cache-from`: BuildKit's cache exporters and importers
/// (`type=registry,ref=…,mode=max`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub kind: String,
    pub attrs: BTreeMap<String, String>,
}

/// Everything one solve needs besides the session.
#[derive(Debug, Clone)]
pub struct RemoteSolve {
    pub reference: String,
    pub session: String,
    /// The Dockerfile's name in the session's `dockerfile` directory.
    pub dockerfile: String,
    pub target: String,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    pub platforms: Vec<String>,
    pub publish: Publish,
    pub cache_to: Vec<CacheEntry>,
    pub cache_from: Vec<CacheEntry>,
}

impl RemoteSolve {
    /// The Control API request.
    pub fn request(&self) -> SolveRequest {
        let mut attrs = HashMap::from([
            ("filename".to_owned(), self.dockerfile.clone()),
            ("target".to_owned(), self.target.clone()),
        ]);
        for (key, value) in &self.build_args {
            attrs.insert(format!("build-arg:{key}"), value.clone());
        }
        for (key, value) in &self.labels {
            attrs.insert(format!("label:{key}"), value.clone());
        }
        if self.no_cache {
            attrs.insert("no-cache".to_owned(), String::new());
        }
        if !self.platforms.is_empty() {
            attrs.insert("platform".to_owned(), self.platforms.join(","));
        }
        let entries = |list: &[CacheEntry]| -> Vec<CacheOptionsEntry> {
            list.iter()
                .map(|entry| CacheOptionsEntry {
                    r#type: entry.kind.clone(),
                    attrs: entry.attrs.clone().into_iter().collect(),
                })
                .collect()
        };
        if !self.cache_from.is_empty() {
            // The frontend resolves cached base layers from these too, as
            // buildctl tells it.
            let json: Vec<serde_json::Value> = self
                .cache_from
                .iter()
                .map(|e| serde_json::json!({"Type": e.kind, "Attrs": e.attrs}))
                .collect();
            attrs.insert(
                "cache-imports".to_owned(),
                serde_json::Value::Array(json).to_string(),
            );
        }
        let exporter = match &self.publish {
            Publish::Push { tags } => Exporter {
                r#type: "image".to_owned(),
                attrs: HashMap::from([
                    ("name".to_owned(), repositories(tags).join(",")),
                    ("push".to_owned(), "true".to_owned()),
                    ("push-by-digest".to_owned(), "true".to_owned()),
                ]),
            },
            // No name: the tarball loads as an untagged image, tagged only
            // when every target of the build succeeded.
            Publish::DockerTarball => Exporter {
                r#type: "docker".to_owned(),
                attrs: HashMap::new(),
            },
            // Said rather than left to the exporter's default (split when
            // the result is per platform), so that several platforms never
            // land merged in one directory.
            Publish::Files if self.platforms.len() > 1 => Exporter {
                r#type: "local".to_owned(),
                attrs: HashMap::from([("platform-split".to_owned(), "true".to_owned())]),
            },
            Publish::Files => Exporter {
                r#type: "local".to_owned(),
                attrs: HashMap::new(),
            },
        };
        SolveRequest {
            r#ref: self.reference.clone(),
            session: self.session.clone(),
            frontend: FRONTEND.to_owned(),
            frontend_attrs: attrs,
            exporters: vec![exporter],
            cache: Some(CacheOptions {
                exports: entries(&self.cache_to),
                imports: entries(&self.cache_from),
                ..CacheOptions::default()
            }),
            ..SolveRequest::default()
        }
    }
}

/// The repositories of `tags` (each once, in order): BuildKit pushes by
/// digest only to names without a tag.
pub fn repositories(tags: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for tag in tags {
        let name = match ImageRef::parse(tag) {
            Some(image) if image.digest.is_none() => {
                let tag_suffix = image.tag.map(|t| format!(":{t}")).unwrap_or_default();
                tag.strip_suffix(&tag_suffix).unwrap_or(tag).to_owned()
            }
            _ => tag.clone(),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// How a solve ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SolveEnd {
    /// Done; the exporter's answer (`containerimage.digest`, …).
    Done(BTreeMap<String, String>),
    /// BuildKit refused or failed the build (a step failed, an image was
    /// not found); the builder itself is fine.
    Failed(String),
    /// The builder went away or could not be talked to.
    Lost(String),
}

/// Runs `solve`, handing each status message to `on_status` as it comes.
pub async fn run_solve(
    control: &Control,
    solve: &RemoteSolve,
    mut on_status: impl FnMut(StatusResponse),
) -> SolveEnd {
    let mut solver = control.clone();
    let mut watcher = control.clone();
    let request = solve.request();
    let reference = solve.reference.clone();
    let solving = async move { solver.solve(request).await };
    tokio::pin!(solving);
    let status = watcher.status(StatusRequest {
        r#ref: reference.clone(),
    });
    tokio::pin!(status);
    let mut stream = None;
    let mut status_pending = true;
    // The status call and the solve run at once, as buildctl runs them.
    let answer = loop {
        tokio::select! {
            opened = &mut status, if status_pending => {
                status_pending = false;
                // Without status the solve's own answer still decides.
                stream = opened.ok().map(tonic::Response::into_inner);
            }
            message = next_status(&mut stream) => match message {
                Some(Ok(message)) => on_status(message),
                Some(Err(_)) | None => stream = None,
            },
            result = &mut solving => break result,
        }
    };
    // Messages still queued after the solve's answer.
    if let Some(mut remaining) = stream {
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout(std::time::Duration::from_secs(2), remaining.next()).await
        {
            on_status(message);
        }
    }
    match answer {
        Ok(response) => SolveEnd::Done(
            response
                .into_inner()
                .exporter_response
                .into_iter()
                .collect(),
        ),
        Err(error) => judge(&error),
    }
}

async fn next_status(
    stream: &mut Option<tonic::Streaming<StatusResponse>>,
) -> Option<Result<StatusResponse, tonic::Status>> {
    match stream {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// A gRPC failure: the builder's verdict on the build, or the builder lost.
fn judge(error: &tonic::Status) -> SolveEnd {
    use tonic::Code;
    let text = describe_status(error);
    match error.code() {
        Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::Aborted => {
            SolveEnd::Lost(text)
        }
        Code::Unknown if text.contains("transport") || text.contains("connection") => {
            SolveEnd::Lost(text)
        }
        _ => SolveEnd::Failed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solve(publish: Publish) -> RemoteSolve {
        RemoteSolve {
            reference: "r".into(),
            session: "s".into(),
            dockerfile: "Dockerfile".into(),
            target: "app".into(),
            build_args: BTreeMap::from([("V".into(), "1".into())]),
            labels: BTreeMap::from([("org.example".into(), "x".into())]),
            no_cache: true,
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            publish,
            cache_to: vec![CacheEntry {
                kind: "registry".into(),
                attrs: BTreeMap::from([
                    ("ref".into(), "r/c:1".into()),
                    ("mode".into(), "max".into()),
                ]),
            }],
            cache_from: vec![CacheEntry {
                kind: "registry".into(),
                attrs: BTreeMap::from([("ref".into(), "r/c:1".into())]),
            }],
        }
    }

    #[test]
    fn tags_push_by_digest_to_their_repositories() {
        let tags = [
            "127.0.0.1:5000/team/app:1".to_owned(),
            "127.0.0.1:5000/team/app:latest".to_owned(),
            "ghcr.io/team/app".to_owned(),
        ];
        assert_eq!(
            repositories(&tags),
            ["127.0.0.1:5000/team/app", "ghcr.io/team/app"]
        );
    }

    #[test]
    fn the_request_speaks_the_dockerfile_frontend_and_buildctl_exporters() {
        let request = solve(Publish::Push {
            tags: vec!["r/a:1".into(), "r/a:latest".into()],
        })
        .request();
        assert_eq!(request.frontend, "dockerfile.v0");
        assert_eq!(request.session, "s");
        assert_eq!(request.r#ref, "r");
        let attrs = &request.frontend_attrs;
        assert_eq!(attrs["target"], "app");
        assert_eq!(attrs["filename"], "Dockerfile");
        assert_eq!(attrs["build-arg:V"], "1");
        assert_eq!(attrs["label:org.example"], "x");
        assert_eq!(attrs["no-cache"], "");
        assert_eq!(attrs["platform"], "linux/amd64,linux/arm64");
        assert_eq!(
            attrs["cache-imports"],
            r#"[{"Type":"registry","Attrs":{"ref":"r/c:1"}}]"#
        );
        assert_eq!(request.exporters.len(), 1);
        assert_eq!(request.exporters[0].r#type, "image");
        assert_eq!(request.exporters[0].attrs["name"], "r/a");
        assert_eq!(request.exporters[0].attrs["push"], "true");
        assert_eq!(request.exporters[0].attrs["push-by-digest"], "true");
        let cache = request.cache.expect("cache options");
        assert_eq!(cache.exports[0].attrs["mode"], "max");
        assert_eq!(cache.imports[0].attrs["ref"], "r/c:1");

        let load = solve(Publish::DockerTarball).request();
        assert_eq!(load.exporters[0].r#type, "docker");
        assert!(load.exporters[0].attrs.is_empty());

        let files = solve(Publish::Files).request();
        assert_eq!(files.exporters[0].r#type, "local");
        assert_eq!(files.exporters[0].attrs["platform-split"], "true");
    }

    #[test]
    fn one_platform_or_none_is_exported_without_a_platform_directory() {
        for platforms in [vec![], vec!["linux/arm64".to_owned()]] {
            let request = RemoteSolve {
                platforms: platforms.clone(),
                ..solve(Publish::Files)
            }
            .request();
            assert!(request.exporters[0].attrs.is_empty(), "{platforms:?}");
            assert_eq!(
                request.frontend_attrs.get("platform"),
                platforms.first(),
                "{platforms:?}"
            );
        }
    }
}
