//! `RUN --mount=type=…,target=…` values: CSV fields, typed.

use std::borrow::Cow;

use smallvec::SmallVec;

use super::super::codes;
use super::flags::byte_at;
use crate::dockerfile::syntax::piece;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MountType {
    #[default]
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
    /// A type BuildKit does not know; it rejects it when building.
    Other(String),
}

impl MountType {
    pub fn as_str(&self) -> &str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
            MountType::Other(s) => s,
        }
    }

    fn parse(s: &str) -> Self {
        match lower(s).as_ref() {
            "bind" => MountType::Bind,
            "cache" => MountType::Cache,
            "tmpfs" => MountType::Tmpfs,
            "secret" => MountType::Secret,
            "ssh" => MountType::Ssh,
            _ => MountType::Other(s.to_string()),
        }
    }
}

/// One `--mount`. Keys BuildKit spells several ways (`target`, `dst`,
/// `destination`) land in one field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mount<'a> {
    pub kind: MountType,
    pub target: Option<Cow<'a, str>>,
    pub source: Option<Cow<'a, str>>,
    /// A stage or image to mount from (bind and cache).
    pub from: Option<Cow<'a, str>>,
    pub readonly: Option<bool>,
    /// Cache and secret id.
    pub id: Option<Cow<'a, str>>,
    /// Cache sharing: `shared`, `private`, `locked`.
    pub sharing: Option<Cow<'a, str>>,
    pub mode: Option<Cow<'a, str>>,
    pub uid: Option<Cow<'a, str>>,
    pub gid: Option<Cow<'a, str>>,
    /// tmpfs size.
    pub size: Option<Cow<'a, str>>,
    /// Secret exposed as an environment variable.
    pub env: Option<Cow<'a, str>>,
    pub required: Option<bool>,
    /// Fields not named above, in order: `(key, value)`.
    pub other: Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>,
}

impl Mount<'_> {
    /// The same mount owning all its text.
    pub fn into_owned<'b>(self) -> Mount<'b> {
        fn own<'b>(v: Option<Cow<'_, str>>) -> Option<Cow<'b, str>> {
            v.map(|v| Cow::Owned(v.into_owned()))
        }
        Mount {
            kind: self.kind,
            target: own(self.target),
            source: own(self.source),
            from: own(self.from),
            readonly: self.readonly,
            id: own(self.id),
            sharing: own(self.sharing),
            mode: own(self.mode),
            uid: own(self.uid),
            gid: own(self.gid),
            size: own(self.size),
            env: own(self.env),
            required: self.required,
            other: self
                .other
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), own(v)))
                .collect(),
        }
    }

    /// The `--mount=` value for this mount.
    pub fn to_flag_value(&self) -> String {
        let mut fields = vec![format!("type={}", self.kind.as_str())];
        let mut push = |k: &str, v: &Option<Cow<'_, str>>| {
            if let Some(v) = v {
                fields.push(csv_field(&format!("{k}={v}")));
            }
        };
        push("id", &self.id);
        push("from", &self.from);
        push("source", &self.source);
        push("target", &self.target);
        push("sharing", &self.sharing);
        push("mode", &self.mode);
        push("uid", &self.uid);
        push("gid", &self.gid);
        push("size", &self.size);
        push("env", &self.env);
        if let Some(ro) = self.readonly {
            fields.push(if ro { "ro" } else { "rw" }.to_string());
        }
        if let Some(r) = self.required {
            fields.push(format!("required={r}"));
        }
        for (k, v) in &self.other {
            fields.push(csv_field(&match v {
                Some(v) => format!("{k}={v}"),
                None => k.to_string(),
            }));
        }
        fields.join(",")
    }
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// A mount problem at the instruction level.
#[derive(Debug)]
pub struct MountError {
    pub code: &'static str,
    pub message: String,
}

/// The fields of one mount: a handful, kept inline.
type Fields<'a> = SmallVec<[Cow<'a, str>; 6]>;

/// Splits CSV fields like Go's `encoding/csv` (strict quotes). Unquoted
/// fields are slices of `value`.
fn csv_fields(value: &str) -> Result<Fields<'_>, String> {
    let bytes = value.as_bytes();
    let mut fields = Fields::new();
    if value.is_empty() {
        return Ok(fields);
    }
    let mut pos = 0;
    loop {
        if bytes.get(pos) == Some(&b'"') {
            let mut field = String::new();
            let mut chars = value[pos + 1..].char_indices().peekable();
            let end = loop {
                match chars.next() {
                    None => return Err("extraneous or missing \" in quoted-field".to_string()),
                    Some((_, '"')) if chars.peek().is_some_and(|&(_, c)| c == '"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some((at, '"')) => break pos + 1 + at + 1,
                    Some((_, c)) => field.push(c),
                }
            };
            fields.push(Cow::Owned(field));
            match bytes.get(end) {
                None => return Ok(fields),
                Some(b',') => pos = end + 1,
                Some(_) => return Err("extraneous or missing \" in quoted-field".to_string()),
            }
        } else {
            match memchr::memchr2(b',', b'"', &bytes[pos..]).map(|at| pos + at) {
                None => {
                    fields.push(Cow::Borrowed(&value[pos..]));
                    return Ok(fields);
                }
                Some(at) if bytes[at] == b'"' => {
                    return Err("bare \" in non-quoted-field".to_string());
                }
                Some(at) => {
                    fields.push(Cow::Borrowed(&value[pos..at]));
                    pos = at + 1;
                }
            }
        }
    }
}

/// `key.to_lowercase()`, keeping the text when it is already lower case.
fn lower_text(key: Cow<'_, str>) -> Cow<'_, str> {
    match lower(&key) {
        Cow::Borrowed(_) => key,
        Cow::Owned(lowered) => Cow::Owned(lowered),
    }
}

/// `key.to_lowercase()`, borrowing when it is already lower case.
fn lower(key: &str) -> Cow<'_, str> {
    if key.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(key.to_lowercase())
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Reads a `--mount` value. Like BuildKit before variables are known, only
/// a malformed value or a variable in `from` is an error here.
pub fn parse_mount(value: &str) -> Result<Mount<'_>, MountError> {
    let fields = csv_fields(value).map_err(|e| MountError {
        code: codes::INVALID_MOUNT,
        message: format!("failed to parse csv mounts: {e}"),
    })?;
    let mut m = Mount::default();
    for field in fields {
        // Key and value are pieces of the field: slices of the flag unless
        // the field was quoted.
        let (key, value) = match byte_at(&field, b'=') {
            Some(at) => (
                lower_text(piece(&field, 0..at)),
                Some(piece(&field, at + 1..field.len())),
            ),
            None => (lower_text(field), None),
        };
        let Some(value) = value else {
            match key.as_ref() {
                "readonly" | "ro" => m.readonly = Some(true),
                "readwrite" | "rw" => m.readonly = Some(false),
                "required" => m.required = Some(true),
                _ => m.other.push((key, None)),
            }
            continue;
        };
        if key == "from" && value.find('$').is_some_and(|at| at != value.len() - 1) {
            return Err(MountError {
                code: codes::MOUNT_FROM_VARIABLE,
                message: "'from' doesn't support variable expansion, define alias stage instead"
                    .to_string(),
            });
        }
        let slot = match key.as_ref() {
            "type" => {
                m.kind = MountType::parse(&value);
                continue;
            }
            "readonly" | "ro" => {
                m.readonly = parse_bool(&value).or(m.readonly);
                continue;
            }
            "readwrite" | "rw" => {
                m.readonly = parse_bool(&value).map(|b| !b).or(m.readonly);
                continue;
            }
            "required" => {
                m.required = parse_bool(&value).or(m.required);
                continue;
            }
            "from" => &mut m.from,
            "source" | "src" => &mut m.source,
            "target" | "dst" | "destination" => &mut m.target,
            "id" => &mut m.id,
            "sharing" => &mut m.sharing,
            "mode" => &mut m.mode,
            "uid" => &mut m.uid,
            "gid" => &mut m.gid,
            "size" => &mut m.size,
            "env" => &mut m.env,
            _ => {
                m.other.push((key, Some(value)));
                continue;
            }
        };
        *slot = Some(value);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mounts() {
        let m = parse_mount("type=cache,target=/root/.cache,sharing=locked,ro").unwrap_or_default();
        assert_eq!(m.kind, MountType::Cache);
        assert_eq!(m.target.as_deref(), Some("/root/.cache"));
        assert_eq!(m.readonly, Some(true));
        assert!(parse_mount("from=$X,target=/a").is_err());
        assert!(parse_mount("from=a$,target=/a").is_ok());
        let text = m.to_flag_value();
        let back = parse_mount(&text).unwrap_or_default();
        assert_eq!(back, m);
    }

    #[test]
    fn splits_csv_like_go() {
        fn ok(v: &str) -> Vec<Cow<'_, str>> {
            csv_fields(v).unwrap_or_default().into_vec()
        }
        assert_eq!(ok("a,b=c,"), ["a", "b=c", ""]);
        assert_eq!(ok("\"x,\"\"y\"\"\",z"), ["x,\"y\"", "z"]);
        assert_eq!(ok("\"\""), [""]);
        assert!(csv_fields("a\"b").is_err());
        assert!(csv_fields("\"a\"b").is_err());
        assert!(csv_fields("\"open").is_err());
        let m = parse_mount("Type=Cache,TARGET=/x,Other=1,flag").unwrap_or_default();
        assert_eq!(m.kind, MountType::Cache);
        assert_eq!(m.target.as_deref(), Some("/x"));
        assert_eq!(
            m.other,
            [
                (Cow::from("other"), Some(Cow::from("1"))),
                (Cow::from("flag"), None)
            ]
        );
    }
}
