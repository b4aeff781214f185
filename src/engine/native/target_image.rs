//! A target's image: the layers of its stage's last cache entry under
//! exactly the configuration the stage and the target ask for.
//!
//! A commit cannot write that configuration: the Engine merges the commit's
//! configuration with the container's (an empty ENTRYPOINT or CMD takes the
//! container's, labels keep the container's), and cache bookkeeping labels
//! would reach the user's image. So the image is written here, as the
//! classic builder writes one (unset lists `null`, no labels but the
//! user's), and loaded as a `docker save` archive holding only its
//! configuration: the Engine already has every layer, so it reads none.
//!
//! The image id is the digest of that configuration, and the configuration
//! holds nothing a build changes by itself (its times are the cache
//! entry's): the same entry and settings give the same image, so a warm
//! rebuild moves no tag. Pure: knows nothing of the Engine.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::engine_api::{HealthSettings, ImageSettings};

/// What the target's image takes from the cache entry it is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryFacts {
    /// The entry's image id.
    pub id: String,
    pub architecture: String,
    pub os: String,
    pub variant: Option<String>,
    /// RFC 3339, as the Engine reports it.
    pub created: String,
    /// The layers' `sha256:` diff ids, base first.
    pub diff_ids: Vec<String>,
    /// The entry's history, oldest first.
    pub history: Vec<HistoryFacts>,
}

/// One line of an image's history, as the Engine's history lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFacts {
    /// RFC 3339.
    pub created: String,
    pub created_by: String,
    pub comment: String,
    /// Bytes the line's layer holds (0 for most configuration lines).
    pub size: i64,
}

/// The image configuration document (`application/vnd.docker.container.image.v1+json`).
pub fn config_document(entry: &EntryFacts, settings: &ImageSettings) -> Vec<u8> {
    let mut document = Map::new();
    document.insert("architecture".into(), json!(entry.architecture));
    // MAINTAINER's author; the classic builder leaves the key out without one.
    if !settings.author.is_empty() {
        document.insert("author".into(), json!(settings.author));
    }
    if let Some(variant) = &entry.variant {
        document.insert("variant".into(), json!(variant));
    }
    document.insert("config".into(), container_config(&entry.id, settings));
    document.insert("created".into(), json!(entry.created));
    if let Some(history) = history(entry) {
        document.insert("history".into(), history);
    }
    document.insert("os".into(), json!(entry.os));
    document.insert(
        "rootfs".into(),
        json!({ "type": "layers", "diff_ids": entry.diff_ids }),
    );
    serde_json::to_vec(&Value::Object(document)).unwrap_or_default()
}

/// The `config` object, field for field as the classic builder writes it:
/// lists and maps nothing set are `null`, and the fields Docker leaves out
/// when empty are left out.
fn container_config(entry_id: &str, settings: &ImageSettings) -> Value {
    let list = |items: &[String]| -> Value {
        if items.is_empty() {
            Value::Null
        } else {
            json!(items)
        }
    };
    let set = |items: &std::collections::BTreeSet<String>| -> Value {
        if items.is_empty() {
            Value::Null
        } else {
            Value::Object(items.iter().map(|k| (k.clone(), json!({}))).collect())
        }
    };
    let env: Vec<String> = settings
        .env
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let mut config = Map::new();
    config.insert("Hostname".into(), json!(""));
    config.insert("Domainname".into(), json!(""));
    config.insert("User".into(), json!(settings.user));
    config.insert("AttachStdin".into(), json!(false));
    config.insert("AttachStdout".into(), json!(false));
    config.insert("AttachStderr".into(), json!(false));
    if !settings.exposed_ports.is_empty() {
        config.insert("ExposedPorts".into(), set(&settings.exposed_ports));
    }
    config.insert("Tty".into(), json!(false));
    config.insert("OpenStdin".into(), json!(false));
    config.insert("StdinOnce".into(), json!(false));
    config.insert("Env".into(), list(&env));
    // CMD [] is kept as `[]`: the classic builder writes it so.
    config.insert("Cmd".into(), json!(settings.cmd));
    if let Some(health) = &settings.healthcheck {
        config.insert("Healthcheck".into(), healthcheck(health));
    }
    config.insert("Image".into(), json!(entry_id));
    config.insert("Volumes".into(), set(&settings.volumes));
    config.insert("WorkingDir".into(), json!(settings.workdir));
    config.insert("Entrypoint".into(), json!(settings.entrypoint));
    config.insert("OnBuild".into(), list(&settings.onbuild));
    config.insert(
        "Labels".into(),
        if settings.labels.is_empty() {
            Value::Null
        } else {
            json!(settings.labels)
        },
    );
    if let Some(signal) = settings.stop_signal.as_ref().filter(|s| !s.is_empty()) {
        config.insert("StopSignal".into(), json!(signal));
    }
    if let Some(shell) = settings.shell.as_ref().filter(|s| !s.is_empty()) {
        config.insert("Shell".into(), json!(shell));
    }
    Value::Object(config)
}

fn healthcheck(health: &HealthSettings) -> Value {
    let mut check = Map::new();
    check.insert("Test".into(), json!(health.test));
    let durations = [
        ("Interval", health.interval),
        ("Timeout", health.timeout),
        ("StartPeriod", health.start_period),
        ("StartInterval", health.start_interval),
        ("Retries", health.retries),
    ];
    for (name, value) in durations {
        if let Some(value) = value.filter(|v| *v != 0) {
            check.insert(name.into(), json!(value));
        }
    }
    Value::Object(check)
}

/// The entry's history, when it can be told which lines made the layers
/// (the Engine lists sizes, not the `empty_layer` flags): exactly as many
/// lines with a size as there are layers. Otherwise none: a history that
/// names more layers than the image has is refused by the Engine.
fn history(entry: &EntryFacts) -> Option<Value> {
    let sized = entry.history.iter().filter(|line| line.size > 0).count();
    if entry.history.is_empty() || sized != entry.diff_ids.len() {
        return None;
    }
    let lines = entry
        .history
        .iter()
        .map(|line| {
            let mut item = Map::new();
            item.insert("created".into(), json!(line.created));
            if !line.created_by.is_empty() {
                item.insert("created_by".into(), json!(line.created_by));
            }
            if !line.comment.is_empty() {
                item.insert("comment".into(), json!(line.comment));
            }
            if line.size == 0 {
                item.insert("empty_layer".into(), json!(true));
            }
            Value::Object(item)
        })
        .collect();
    Some(Value::Array(lines))
}

/// The entry's facts as a build at `SOURCE_DATE_EPOCH` `epoch` writes
/// them, as BuildKit does: the image created at `epoch`, history lines
/// later than it (this build's own) at `epoch`, the base's older lines
/// kept. `Image` names no cache entry: entries are committed by the
/// Engine at the time of the build, so their ids differ from build to
/// build.
pub fn at_source_date(entry: &EntryFacts, epoch: u64) -> EntryFacts {
    let at = crate::engine::image_labels::rfc3339(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch),
    );
    let history = entry
        .history
        .iter()
        .map(|line| HistoryFacts {
            // Both are written `YYYY-MM-DDTHH:MM:SSZ`: text order is time order.
            created: if line.created > at {
                at.clone()
            } else {
                line.created.clone()
            },
            ..line.clone()
        })
        .collect();
    EntryFacts {
        id: String::new(),
        created: at,
        history,
        ..entry.clone()
    }
}

/// The image id of a configuration document.
pub fn image_id(config: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(config)))
}

/// A `docker load` archive of one image with `config` and `layers` (diff
/// ids) of which it holds no layer: the Engine must have them all.
pub fn config_only_archive(config: &[u8], layers: usize) -> std::io::Result<Vec<u8>> {
    let id = image_id(config);
    let hex = id.trim_start_matches("sha256:");
    let config_name = format!("{hex}.json");
    let layer_names: Vec<String> = (0..layers)
        .map(|index| format!("layer-{index}/layer.tar"))
        .collect();
    let manifest = json!([{
        "Config": config_name,
        "RepoTags": Value::Null,
        "Layers": layer_names,
    }]);
    let manifest = serde_json::to_vec(&manifest).map_err(std::io::Error::other)?;
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in [
        (config_name.as_str(), config),
        ("manifest.json", manifest.as_slice()),
    ] {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, name, data)?;
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn entry() -> EntryFacts {
        EntryFacts {
            id: "sha256:entry".into(),
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
            created: "2026-12-01T10:00:00.123Z".into(),
            diff_ids: vec!["sha256:aa".into(), "sha256:bb".into()],
            history: vec![
                HistoryFacts {
                    created: "2026-11-01T00:00:00Z".into(),
                    created_by: "base".into(),
                    comment: String::new(),
                    size: 10,
                },
                HistoryFacts {
                    created: "2026-12-01T10:00:00Z".into(),
                    created_by: "RUN make".into(),
                    comment: String::new(),
                    size: 3,
                },
                HistoryFacts {
                    created: "2026-12-01T10:00:00Z".into(),
                    created_by: "CMD".into(),
                    comment: String::new(),
                    size: 0,
                },
            ],
        }
    }

    fn parsed(settings: &ImageSettings) -> Value {
        serde_json::from_slice(&config_document(&entry(), settings)).expect("json")
    }

    #[test]
    fn what_nothing_sets_is_null_as_the_classic_builder_writes_it() {
        let document = parsed(&ImageSettings {
            env: vec![("PATH".into(), "/bin".into())],
            cmd: Some(vec!["sh".into()]),
            ..ImageSettings::default()
        });
        let config = &document["config"];
        for field in ["Entrypoint", "OnBuild", "Labels", "Volumes"] {
            assert_eq!(config[field], Value::Null, "{field}");
        }
        for field in ["ExposedPorts", "Healthcheck", "StopSignal", "Shell"] {
            assert!(config.get(field).is_none(), "{field} should be left out");
        }
        assert_eq!(config["Env"], json!(["PATH=/bin"]));
        assert_eq!(config["Cmd"], json!(["sh"]));
        assert_eq!(
            document["rootfs"]["diff_ids"],
            json!(["sha256:aa", "sha256:bb"])
        );
        assert_eq!(document["created"], json!("2026-12-01T10:00:00.123Z"));
    }

    #[test]
    fn an_empty_cmd_stays_an_empty_list_and_sets_are_maps() {
        let config = parsed(&ImageSettings {
            cmd: Some(Vec::new()),
            exposed_ports: BTreeSet::from(["80/tcp".to_owned()]),
            volumes: BTreeSet::from(["/data".to_owned()]),
            labels: BTreeMap::from([("a".to_owned(), "b".to_owned())]),
            onbuild: vec!["RUN x".into()],
            ..ImageSettings::default()
        })["config"]
            .clone();
        assert_eq!(config["Cmd"], json!([]));
        assert_eq!(config["ExposedPorts"], json!({ "80/tcp": {} }));
        assert_eq!(config["Volumes"], json!({ "/data": {} }));
        assert_eq!(config["Labels"], json!({ "a": "b" }));
        assert_eq!(config["OnBuild"], json!(["RUN x"]));
    }

    #[test]
    fn history_marks_the_lines_without_a_layer_or_is_left_out() {
        let document = parsed(&ImageSettings::default());
        let history = document["history"].as_array().expect("history");
        assert_eq!(history.len(), 3);
        assert_eq!(history[2]["empty_layer"], json!(true));
        assert!(history[1].get("empty_layer").is_none());
        let mut unclear = entry();
        unclear.history[2].size = 1;
        let document: Value =
            serde_json::from_slice(&config_document(&unclear, &ImageSettings::default()))
                .expect("json");
        assert!(document.get("history").is_none());
    }

    #[test]
    fn the_same_entry_and_settings_give_the_same_id() {
        let settings = ImageSettings {
            user: "app".into(),
            ..ImageSettings::default()
        };
        let one = config_document(&entry(), &settings);
        assert_eq!(
            image_id(&one),
            image_id(&config_document(&entry(), &settings))
        );
        let other = ImageSettings {
            user: "root".into(),
            ..settings
        };
        assert_ne!(image_id(&one), image_id(&config_document(&entry(), &other)));
    }

    #[test]
    fn at_a_source_date_the_build_s_times_are_the_epoch_and_the_base_s_older_ones_stay() {
        // 2026-11-15T00:00:00Z: after the base line, before the build's.
        let facts = at_source_date(&entry(), 1_794_700_800);
        assert_eq!(facts.created, "2026-11-15T00:00:00Z");
        assert_eq!(facts.history[0].created, "2026-11-01T00:00:00Z");
        assert_eq!(facts.history[1].created, "2026-11-15T00:00:00Z");
        assert_eq!(facts.history[2].created, "2026-11-15T00:00:00Z");
        let document: Value =
            serde_json::from_slice(&config_document(&facts, &ImageSettings::default()))
                .expect("json");
        assert_eq!(document["config"]["Image"], json!(""));
        let mut later = entry();
        later.id = "sha256:another-entry".into();
        later.created = "2026-12-02T11:00:00.5Z".into();
        later.history[1].created = "2026-12-02T11:00:00Z".into();
        assert_eq!(
            config_document(&facts, &ImageSettings::default()),
            config_document(
                &at_source_date(&later, 1_794_700_800),
                &ImageSettings::default()
            ),
            "two builds of the same layers at the same epoch write the same configuration"
        );
    }

    #[test]
    fn the_archive_holds_the_configuration_and_a_manifest_naming_every_layer() {
        let config = config_document(&entry(), &ImageSettings::default());
        let archive = config_only_archive(&config, 2).expect("archive");
        let mut names = Vec::new();
        let mut manifest = Vec::new();
        for file in tar::Archive::new(archive.as_slice())
            .entries()
            .expect("entries")
        {
            let mut file = file.expect("entry");
            let name = file.path().expect("path").display().to_string();
            if name == "manifest.json" {
                std::io::Read::read_to_end(&mut file, &mut manifest).expect("read");
            }
            names.push(name);
        }
        let id = image_id(&config);
        assert_eq!(
            names,
            [
                format!("{}.json", id.trim_start_matches("sha256:")),
                "manifest.json".into()
            ]
        );
        let manifest: Value = serde_json::from_slice(&manifest).expect("manifest");
        assert_eq!(manifest[0]["Layers"].as_array().map(Vec::len), Some(2));
    }
}
