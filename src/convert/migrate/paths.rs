//! Host paths as the script sees them, lexically: relative to the project
//! directory, `/`-separated, `.` for the directory itself, no `./` and no
//! `a/..`. Nothing here touches the file system.

/// `path` cleaned: `./a//b/../c/` → `a/c`; `.` when empty.
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// `rel` seen from `base` (both project-relative), cleaned; an absolute `rel` stays as is.
pub fn join(base: &str, rel: &str) -> String {
    if rel.starts_with('/') || base == "." || base.is_empty() {
        return normalize(rel);
    }
    normalize(&format!("{base}/{rel}"))
}

/// The last component: `a/b/` → `b`.
pub fn file_name(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

/// The directory holding `path`: `a/b` → `a`, `b` → `.`.
pub fn parent(path: &str) -> String {
    let path = normalize(path);
    match path.rsplit_once('/') {
        Some(("", _)) => "/".to_owned(),
        Some((dir, _)) => dir.to_owned(),
        None => ".".to_owned(),
    }
}

/// `path` is `dir` or inside it (both normalized).
pub fn is_within(path: &str, dir: &str) -> bool {
    dir == "." && !path.starts_with("..") && !path.starts_with('/')
        || path == dir
        || path.starts_with(&format!("{dir}/"))
}

/// `path` relative to `dir` when inside it: `a/b/c` in `a` → `b/c`; `.` for `dir` itself.
pub fn strip_dir(path: &str, dir: &str) -> Option<String> {
    if path == dir {
        return Some(".".to_owned());
    }
    if dir == "." {
        return is_within(path, dir).then(|| path.to_owned());
    }
    path.strip_prefix(&format!("{dir}/")).map(str::to_owned)
}

/// How to reach `path` from `from` (both project-relative): `a/b` from `a/c` → `../b`.
pub fn relative(path: &str, from: &str) -> String {
    let path = normalize(path);
    let from = normalize(from);
    let split = |p: &str| -> Vec<String> {
        if p == "." {
            Vec::new()
        } else {
            p.split('/').map(str::to_owned).collect()
        }
    };
    let (p, f) = (split(&path), split(&from));
    let common = p.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); f.len() - common];
    parts.extend(p[common..].iter().cloned());
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_and_joins() {
        assert_eq!(normalize("./a//b/../c/"), "a/c");
        assert_eq!(normalize("./"), ".");
        assert_eq!(normalize("/go/src/../app"), "/go/app");
        assert_eq!(join("thumbor", "./Dockerfile"), "thumbor/Dockerfile");
        assert_eq!(join(".", "../x"), "../x");
        assert_eq!(parent("app"), ".");
        assert_eq!(parent("/hello"), "/");
        assert_eq!(file_name("/out/dist/"), "dist");
    }

    #[test]
    fn relations() {
        assert!(is_within("dist/app", "dist"));
        assert!(is_within("dist", "."));
        assert!(!is_within("distx", "dist"));
        assert_eq!(strip_dir("dist/a/b", "dist").as_deref(), Some("a/b"));
        assert_eq!(relative("thumbor", "."), "thumbor");
        assert_eq!(relative(".", "sub"), "..");
        assert_eq!(relative("a/b", "a/c"), "../b");
    }
}
