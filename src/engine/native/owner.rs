//! `--chown` and `--chmod` values of COPY/ADD, resolved as Docker's classic
//! builder does: `user[:group]`, names looked up in the image's
//! `/etc/passwd` and `/etc/group`, a missing group defaulting to the user
//! string itself; `--chmod` is octal.
//!
//! Pure functions over text; the executor fetches the two files.

/// A numeric owner for files written into an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Owner {
    pub uid: u64,
    pub gid: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnerError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
    #[error("invalid --chown value {0:?}: expected user[:group]")]
    Malformed(String),
    #[error("invalid --chmod value {0:?}: expected an octal mode such as 755")]
    BadMode(String),
}

/// Whether a `--chown` value needs the image's passwd/group files.
pub fn needs_lookup(spec: &str) -> bool {
    spec.split(':').any(|part| part.parse::<u64>().is_err())
}

/// Resolve `user[:group]`; `passwd`/`group` are the image's files, if any.
pub fn resolve_chown(
    spec: &str,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<Owner, OwnerError> {
    let mut parts = spec.split(':');
    let user = parts.next().unwrap_or_default();
    let group_part = parts.next().unwrap_or(user);
    if user.is_empty() || group_part.is_empty() || parts.next().is_some() {
        return Err(OwnerError::Malformed(spec.to_owned()));
    }
    let uid = match user.parse::<u64>() {
        Ok(uid) => uid,
        Err(_) => lookup(passwd, user).ok_or_else(|| OwnerError::UnknownUser(user.to_owned()))?,
    };
    let gid = match group_part.parse::<u64>() {
        Ok(gid) => gid,
        Err(_) => lookup(group, group_part)
            .ok_or_else(|| OwnerError::UnknownGroup(group_part.to_owned()))?,
    };
    Ok(Owner { uid, gid })
}

/// The id (third field) of the entry named `name` in a passwd/group file.
fn lookup(file: Option<&str>, name: &str) -> Option<u64> {
    file?.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        fields.nth(1)?.trim().parse().ok()
    })
}

/// `--chmod=755` → 0o755.
pub fn parse_chmod(spec: &str) -> Result<u32, OwnerError> {
    u32::from_str_radix(spec, 8)
        .ok()
        .filter(|mode| *mode <= 0o7777)
        .ok_or_else(|| OwnerError::BadMode(spec.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nstaff:x:50:bob\nbob:x:1000:\n";

    #[test]
    fn resolves_chown_like_the_classic_builder() {
        let cases: &[(&str, Result<Owner, OwnerError>)] = &[
            ("1", Ok(Owner { uid: 1, gid: 1 })),
            ("1:2", Ok(Owner { uid: 1, gid: 2 })),
            (
                "bob",
                Ok(Owner {
                    uid: 1000,
                    gid: 1000,
                }),
            ),
            ("bob:staff", Ok(Owner { uid: 1000, gid: 50 })),
            ("0:staff", Ok(Owner { uid: 0, gid: 50 })),
            ("eve", Err(OwnerError::UnknownUser("eve".into()))),
            ("bob:wheel", Err(OwnerError::UnknownGroup("wheel".into()))),
            ("", Err(OwnerError::Malformed("".into()))),
            ("1:2:3", Err(OwnerError::Malformed("1:2:3".into()))),
            ("1:", Err(OwnerError::Malformed("1:".into()))),
        ];
        for (spec, expected) in cases {
            assert_eq!(
                &resolve_chown(spec, Some(PASSWD), Some(GROUP)),
                expected,
                "{spec}"
            );
        }
        assert_eq!(
            resolve_chown("bob", None, None),
            Err(OwnerError::UnknownUser("bob".into()))
        );
        assert!(needs_lookup("bob:1"));
        assert!(!needs_lookup("1:1"));
    }

    #[test]
    fn parses_octal_modes() {
        assert_eq!(parse_chmod("755"), Ok(0o755));
        assert_eq!(parse_chmod("0644"), Ok(0o644));
        assert!(parse_chmod("u+x").is_err());
        assert!(parse_chmod("888").is_err());
        assert!(parse_chmod("17777").is_err());
    }
}
