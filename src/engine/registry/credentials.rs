//! Registry credentials from Docker's own client configuration, read the
//! way the docker CLI reads them: `$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`; a registry's `credHelpers` entry first, then the
//! `credsStore`, then the `auths` entry (base64 `auth` of `user:password`,
//! or an `identitytoken`). A helper is run as `docker-credential-<name> get`
//! with the registry key on standard input. Without any, pulls are anonymous.
//!
//! Secrets live only in `Credentials`, whose `Debug` hides them, and are
//! handed to the Engine in its registry-auth header; no error message
//! carries them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::reference::ImageRef;

/// How long a credential helper may take before it counts as failed.
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// What a helper prints when it has nothing for the registry.
const NOT_FOUND: &str = "credentials not found in native keychain";

/// Credentials for one registry.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub server: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub identity_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field(
                "identity_token",
                &self.identity_token.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

/// Docker's client configuration: the parts about registries and contexts.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "currentContext")]
    pub current_context: Option<String>,
    /// Where the file was read from (nothing when there was none).
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// Where the file was looked for.
    #[serde(skip)]
    pub location: PathBuf,
    /// The PATH credential helpers are looked up in (default: this process's).
    #[serde(skip)]
    pub helper_path: Option<std::ffi::OsString>,
}

#[derive(Clone, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthEntry { <hidden> }")
    }
}

/// Credentials could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CredentialError {
    #[error("cannot read Docker's client configuration {}: {reason}", path.display())]
    #[diagnostic(
        code("stages::registry::config"),
        help("fix the file, or point DOCKER_CONFIG at a directory with a valid config.json")
    )]
    Config { path: PathBuf, reason: String },
    #[error("the `auths` entry for {registry} in {} is not base64 of user:password", path.display())]
    #[diagnostic(
        code("stages::registry::config"),
        help("log in again with `docker login {registry}`")
    )]
    BadAuth { registry: String, path: PathBuf },
    #[error("the credential helper docker-credential-{helper} failed for {registry}: {reason}")]
    #[diagnostic(
        code("stages::registry::credential-helper"),
        help(
            "check that docker-credential-{helper} is on PATH and works (`docker login {registry}`)"
        )
    )]
    Helper {
        helper: String,
        registry: String,
        reason: String,
    },
}

/// The directory of Docker's client configuration: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn config_dir(env: &impl Fn(&str) -> Option<String>) -> PathBuf {
    env("DOCKER_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".docker")))
        .unwrap_or_else(|| PathBuf::from(".docker"))
}

impl DockerConfig {
    /// Reads `config.json` from the process environment's config directory.
    pub fn load() -> Result<Self, CredentialError> {
        Self::load_from(&config_dir(&|key| std::env::var(key).ok()))
    }

    /// No credentials, as if `location` did not exist.
    pub fn empty_at(location: PathBuf) -> Self {
        Self {
            location,
            ..Self::default()
        }
    }

    /// Reads `dir/config.json`; a missing file is an empty configuration.
    pub fn load_from(dir: &Path) -> Result<Self, CredentialError> {
        let path = dir.join("config.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    location: path,
                    ..Self::default()
                });
            }
            Err(error) => {
                return Err(CredentialError::Config {
                    path,
                    reason: error.to_string(),
                });
            }
        };
        let mut config: DockerConfig =
            serde_json::from_str(&text).map_err(|error| CredentialError::Config {
                path: path.clone(),
                // serde's message names the place, never the value.
                reason: format!("not valid JSON ({})", position_only(&error)),
            })?;
        config.path = Some(path.clone());
        config.location = path;
        Ok(config)
    }

    /// The credentials for `image`'s registry, or `None` for anonymous access.
    pub async fn credentials_for(
        &self,
        image: &ImageRef,
    ) -> Result<Option<Credentials>, CredentialError> {
        // The CLI's key: the host, or Docker Hub's URL for Docker Hub.
        let key = image.auth_key();
        if let Some(helper) = self.cred_helpers.get(key) {
            return run_helper(helper, key, self.helper_path.as_deref()).await;
        }
        if let Some(store) = self.creds_store.as_deref().filter(|s| !s.is_empty())
            && let Some(found) = run_helper(store, key, self.helper_path.as_deref()).await?
        {
            return Ok(Some(found));
        }
        self.in_auths(image)
    }

    fn in_auths(&self, image: &ImageRef) -> Result<Option<Credentials>, CredentialError> {
        let key = image.auth_key();
        let entry = self.auths.get(key).map(|e| (key, e)).or_else(|| {
            self.auths
                .iter()
                .find(|(k, _)| hostname_of(k) == image.registry)
                .map(|(k, e)| (k.as_str(), e))
        });
        let Some((server, entry)) = entry else {
            return Ok(None);
        };
        let mut found = Credentials {
            server: server.to_owned(),
            username: entry.username.clone().filter(|u| !u.is_empty()),
            password: entry.password.clone().filter(|p| !p.is_empty()),
            identity_token: entry.identitytoken.clone().filter(|t| !t.is_empty()),
        };
        if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let bad = || CredentialError::BadAuth {
                registry: image.login_name().to_owned(),
                path: self.path.clone().unwrap_or_default(),
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad())?;
            let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
            let (user, password) = decoded.split_once(':').ok_or_else(bad)?;
            found.username = Some(user.to_owned());
            found.password = Some(password.to_owned());
        }
        let empty =
            found.username.is_none() && found.password.is_none() && found.identity_token.is_none();
        Ok((!empty).then_some(found))
    }
}

/// `https://host/v1/` → `host`, as the CLI compares `auths` keys.
fn hostname_of(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

fn position_only(error: &serde_json::Error) -> String {
    format!("line {}, column {}", error.line(), error.column())
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-<helper> get` with `key` on standard input.
async fn run_helper(
    helper: &str,
    key: &str,
    path: Option<&std::ffi::OsStr>,
) -> Result<Option<Credentials>, CredentialError> {
    let fail = |reason: String| CredentialError::Helper {
        helper: helper.to_owned(),
        registry: key.to_owned(),
        reason,
    };
    let program = format!("docker-credential-{helper}");
    let mut command = tokio::process::Command::new(&program);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let mut child = command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot run {program}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper may answer without reading its input (as the docker CLI
        // allows); its answer, not the write, tells what happened.
        match stdin.write_all(key.as_bytes()).await {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(fail(format!("cannot write to it: {e}")));
            }
            _ => {}
        }
    }
    let output = tokio::time::timeout(HELPER_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            fail(format!(
                "no answer within {} seconds",
                HELPER_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| fail(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        if stdout.trim() == NOT_FOUND {
            return Ok(None);
        }
        // A helper's message is about the store, not the secret; keep one line.
        let message = stdout.lines().next().unwrap_or("").trim().to_owned();
        return Err(fail(format!("exit {}: {message}", output.status)));
    }
    let answer: HelperAnswer = serde_json::from_str(stdout.trim())
        .map_err(|_| fail("its answer is not the JSON a credential helper prints".to_owned()))?;
    let server = if answer.server_url.is_empty() {
        key.to_owned()
    } else {
        answer.server_url
    };
    if answer.username == "<token>" {
        return Ok(Some(Credentials {
            server,
            username: None,
            password: None,
            identity_token: Some(answer.secret),
        }));
    }
    Ok(Some(Credentials {
        server,
        username: Some(answer.username),
        password: Some(answer.secret),
        identity_token: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> (tempfile::TempDir, DockerConfig) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), json).unwrap();
        let config = DockerConfig::load_from(dir.path()).unwrap();
        (dir, config)
    }

    fn image(text: &str) -> ImageRef {
        ImageRef::parse(text).unwrap()
    }

    #[tokio::test]
    async fn auths_are_decoded_and_matched_by_host() {
        // "user:p:ss" — a password may hold a colon.
        let (_dir, config) = config(
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "dXNlcjpwOnNz"},
                "http://reg.example:5000/v2/": {"identitytoken": "tok"}
            }}"#,
        );
        let hub = config
            .credentials_for(&image("alpine"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(hub.username.as_deref(), Some("user"));
        assert_eq!(hub.password.as_deref(), Some("p:ss"));
        assert_eq!(hub.server, crate::engine::registry::reference::HUB_AUTH_KEY);
        let other = config
            .credentials_for(&image("reg.example:5000/x"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(other.identity_token.as_deref(), Some("tok"));
        assert_eq!(
            config.credentials_for(&image("ghcr.io/a/b")).await.unwrap(),
            None
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let (_dir, config) = config(r#"{"auths": {"r.io": {"auth": "dTpzM2NyZXQ="}}}"#);
        assert!(!format!("{config:?}").contains("dTpzM2NyZXQ"));
        let creds = Credentials {
            password: Some("s3cret".into()),
            ..Default::default()
        };
        assert!(!format!("{creds:?}").contains("s3cret"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths": {"r.io": {"auth": "s3cret"#,
        )
        .unwrap();
        let error = DockerConfig::load_from(dir.path()).unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[tokio::test]
    async fn bad_base64_names_the_registry_not_the_value() {
        let (_dir, config) = config(r#"{"auths": {"r.io": {"auth": "%%s3cret%%"}}}"#);
        let error = config.credentials_for(&image("r.io/a")).await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("r.io") && !text.contains("s3cret"), "{text}");
    }

    #[test]
    fn a_missing_file_means_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        let config = DockerConfig::load_from(dir.path()).unwrap();
        assert!(config.auths.is_empty() && config.path.is_none());
    }

    /// A helper script, found through the configuration's helper PATH.
    fn helper(dir: &Path, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[tokio::test]
    async fn helpers_answer_tokens_not_found_and_store_fallbacks() {
        let bin = tempfile::tempdir().unwrap();
        let id = std::process::id();
        // A token helper echoes the key it was given back as ServerURL.
        helper(
            bin.path(),
            &format!("stages-token-{id}"),
            r#"read -r key; printf '{"ServerURL":"%s","Username":"<token>","Secret":"tok"}' "$key""#,
        );
        helper(
            bin.path(),
            &format!("stages-none-{id}"),
            "echo 'credentials not found in native keychain'; exit 1",
        );
        let path = format!(
            "{}:{}",
            bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let (_dir, mut config) = config(&format!(
            r#"{{"credsStore": "stages-none-{id}",
                "credHelpers": {{"tok.example": "stages-token-{id}"}},
                "auths": {{"r.io": {{"auth": "dTpw"}}}}}}"#
        ));
        config.helper_path = Some(path.into());
        let token = config
            .credentials_for(&image("tok.example/a"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(token.identity_token.as_deref(), Some("tok"));
        assert_eq!(token.server, "tok.example");
        assert_eq!(token.username, None);
        // The store has nothing: the `auths` entry is used.
        let fallback = config
            .credentials_for(&image("r.io/a"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fallback.username.as_deref(), Some("u"));
        assert_eq!(
            config.credentials_for(&image("ghcr.io/a")).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_missing_helper_is_a_clear_error() {
        let (_dir, config) = config(r#"{"credHelpers": {"r.io": "stages-test-no-such-helper"}}"#);
        let error = config.credentials_for(&image("r.io/a")).await.unwrap_err();
        assert!(
            error
                .to_string()
                .contains("docker-credential-stages-test-no-such-helper"),
            "{error}"
        );
    }
}
