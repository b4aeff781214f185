//! A RUN's mounts as one build sees them. BuildKit expands every `--mount`
//! value with the variables in scope at the RUN (build args and the
//! stage's environment) when it dispatches the step, the type included, so
//! a build arg can change a mount's type, id or target. `from` is not
//! expanded: BuildKit refuses a variable there.

use super::expand::ExpandError;
use super::scope::StageScope;
use crate::config::model::{Mount, MountKind, MountType};
use crate::located::Located;

/// The mounts with their text values expanded and every type known, or
/// why one cannot be mounted.
pub fn expand_mounts(
    scope: &StageScope,
    mounts: &[Located<Mount>],
) -> Result<Vec<Located<Mount>>, String> {
    mounts
        .iter()
        .map(|mount| {
            expand_mount(&mount.value, &|word| scope.expand(word))
                .map(|value| Located::new(value, mount.span))
        })
        .collect()
}

fn expand_mount(
    mount: &Mount,
    expand: &dyn Fn(&str) -> Result<String, ExpandError>,
) -> Result<Mount, String> {
    let text = |value: &Option<String>| -> Result<Option<String>, String> {
        value
            .as_deref()
            .map(|v| expand(v).map_err(|e| format!("--mount value `{v}`: {e}")))
            .transpose()
    };
    let kind = match &mount.kind {
        MountType::Known(kind) => *kind,
        MountType::Variable(written) => {
            let value = expand(written).map_err(|e| format!("--mount type `{written}`: {e}"))?;
            // BuildKit reads the expanded type case-blind.
            let kind = MountKind::parse(&value.to_ascii_lowercase()).ok_or_else(|| {
                format!(
                    "the mount type `{written}` is `{value}`, which is not a mount type \
                     (bind, cache, secret, tmpfs, ssh)"
                )
            })?;
            check_options(kind, mount, written)?;
            kind
        }
    };
    Ok(Mount {
        kind: MountType::Known(kind),
        target: text(&mount.target)?,
        source: text(&mount.source)?,
        from: mount.from.clone(),
        id: text(&mount.id)?,
        sharing: text(&mount.sharing)?,
        readonly: mount.readonly,
        required: mount.required,
        mode: text(&mount.mode)?,
        uid: mount.uid,
        gid: mount.gid,
        size: text(&mount.size)?,
        env: text(&mount.env)?,
    })
}

/// `check` knew no type to hold the options against; the build does.
fn check_options(kind: MountKind, mount: &Mount, written: &str) -> Result<(), String> {
    let takes = kind.options();
    let refused: Vec<&str> = written_options(mount)
        .into_iter()
        .filter(|key| !takes.contains(key))
        .collect();
    if let Some(key) = refused.first() {
        return Err(format!(
            "the mount type `{written}` is `{}` here, and a {} mount takes no `{key}`",
            kind.as_str(),
            kind.as_str()
        ));
    }
    let needs_target = matches!(kind, MountKind::Cache | MountKind::Tmpfs);
    if needs_target && mount.target.is_none() {
        return Err(format!(
            "the mount type `{written}` is `{}` here, and a {} mount needs a `target`",
            kind.as_str(),
            kind.as_str()
        ));
    }
    if kind == MountKind::Secret && mount.id.is_none() && mount.target.is_none() {
        return Err(format!(
            "the mount type `{written}` is `secret` here, and a secret mount needs an `id` or a `target`"
        ));
    }
    Ok(())
}

fn written_options(mount: &Mount) -> Vec<&'static str> {
    [
        ("target", mount.target.is_some()),
        ("source", mount.source.is_some()),
        ("from", mount.from.is_some()),
        ("id", mount.id.is_some()),
        ("sharing", mount.sharing.is_some()),
        ("readonly", mount.readonly.is_some()),
        ("required", mount.required.is_some()),
        ("mode", mount.mode.is_some()),
        ("uid", mount.uid.is_some()),
        ("gid", mount.gid.is_some()),
        ("size", mount.size.is_some()),
        ("env", mount.env.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, present)| present.then_some(key))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(word: &str) -> Result<String, ExpandError> {
        Ok(word
            .replace("$MNT_TYPE", "cache")
            .replace("$UPPER", "TMPFS")
            .replace("$ID", "mycache")
            .replace("$BAD", "tmp"))
    }

    fn variable(kind: &str) -> Mount {
        Mount {
            kind: MountType::Variable(kind.to_owned()),
            target: Some("/c".to_owned()),
            ..Mount::default()
        }
    }

    #[test]
    fn a_variable_type_and_every_text_value_are_expanded() {
        let mount = Mount {
            id: Some("$ID".to_owned()),
            ..variable("$MNT_TYPE")
        };
        let expanded = expand_mount(&mount, &vars).unwrap();
        assert_eq!(expanded.kind, MountType::Known(MountKind::Cache));
        assert_eq!(expanded.id.as_deref(), Some("mycache"));
        let upper = expand_mount(&variable("$UPPER"), &vars).unwrap();
        assert_eq!(upper.kind, MountType::Known(MountKind::Tmpfs));
    }

    #[test]
    fn a_variable_type_that_names_no_type_is_refused() {
        let error = expand_mount(&variable("$BAD"), &vars).unwrap_err();
        assert!(
            error.contains("`$BAD` is `tmp`, which is not a mount type"),
            "{error}"
        );
    }

    #[test]
    fn the_expanded_type_must_take_the_options_written() {
        let mount = Mount {
            size: Some("1m".to_owned()),
            ..variable("$MNT_TYPE")
        };
        let error = expand_mount(&mount, &vars).unwrap_err();
        assert!(error.contains("a cache mount takes no `size`"), "{error}");
        let no_target = Mount {
            target: None,
            ..variable("$MNT_TYPE")
        };
        let error = expand_mount(&no_target, &vars).unwrap_err();
        assert!(error.contains("needs a `target`"), "{error}");
    }
}
