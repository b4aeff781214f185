//! Several platforms' files from BuildKit's `local` exporter: one transfer
//! per platform, each wholly under a directory named after its platform
//! (`linux/amd64` → `linux_amd64`). What arrived is checked against that
//! before anything is staged: two platforms' files unpacked into the same
//! place would silently keep only the later's.

use std::collections::BTreeSet;
use std::path::{Component, Path};

/// Whether `archives` (one per transfer) are `platforms`' files split one
/// directory per platform; with one platform or none, there is nothing to
/// check (the files are written directly in the output directory).
pub fn check_platform_split(platforms: &[String], archives: &[Vec<u8>]) -> Result<(), String> {
    if platforms.len() < 2 {
        return Ok(());
    }
    if archives.len() != platforms.len() {
        return Err(format!(
            "one transfer of files per platform ({}) was expected, the builder sent {}",
            platforms.join(", "),
            archives.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for archive in archives {
        let tops = top_level_names(archive)?;
        let mut names = tops.iter();
        let (Some(name), None) = (names.next(), names.next()) else {
            return Err(format!(
                "a transfer of files is not under one platform directory: it holds {}",
                describe(&tops)
            ));
        };
        if !seen.insert(name.clone()) {
            return Err(format!(
                "two platforms' files were sent under the same directory `{name}`"
            ));
        }
    }
    Ok(())
}

/// The first component of every entry's path (`./` and empty paths left
/// out); an entry that is itself at the top and no directory is refused.
fn top_level_names(archive: &[u8]) -> Result<BTreeSet<String>, String> {
    let unreadable = |e: std::io::Error| format!("a transfer of files cannot be read: {e}");
    let mut names = BTreeSet::new();
    let mut entries = tar::Archive::new(archive);
    for entry in entries.entries().map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let is_dir = entry.header().entry_type() == tar::EntryType::Directory;
        let path = entry.path().map_err(unreadable)?;
        let mut components = path
            .components()
            .filter(|c| !matches!(c, Component::CurDir));
        let Some(first) = components.next() else {
            continue;
        };
        let first = shown(first);
        if components.next().is_none() && !is_dir {
            return Err(format!(
                "a transfer of files is not under one platform directory: `{first}` is no directory"
            ));
        }
        names.insert(first);
    }
    Ok(names)
}

fn shown(component: Component<'_>) -> String {
    Path::new(component.as_os_str()).display().to_string()
}

fn describe(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        return "nothing".to_owned();
    }
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(paths: &[&str]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for path in paths {
            let mut header = tar::Header::new_gnu();
            if path.ends_with('/') {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, path, &[][..])
                    .expect("directory entry");
            } else {
                header.set_size(2);
                builder
                    .append_data(&mut header, path, &b"x\n"[..])
                    .expect("file entry");
            }
        }
        builder.into_inner().expect("archive")
    }

    fn two() -> Vec<String> {
        vec!["linux/amd64".to_owned(), "linux/arm64".to_owned()]
    }

    #[test]
    fn one_directory_per_platform_passes() {
        let archives = [
            archive(&["linux_arm64/", "linux_arm64/tool", "linux_arm64/tree/n.txt"]),
            archive(&["./linux_amd64/", "./linux_amd64/tool"]),
        ];
        assert_eq!(check_platform_split(&two(), &archives), Ok(()));
    }

    #[test]
    fn one_platform_or_none_is_not_checked() {
        let merged = [archive(&["tool", "other"]), archive(&["tool"])];
        assert_eq!(check_platform_split(&[], &merged), Ok(()));
        assert_eq!(
            check_platform_split(&["linux/arm64".to_owned()], &merged),
            Ok(())
        );
    }

    #[test]
    fn files_outside_a_platform_directory_are_refused() {
        let archives = [archive(&["tool"]), archive(&["linux_arm64/tool"])];
        let archives_merged = [
            archive(&["linux_amd64/tool", "tool"]),
            archive(&["linux_arm64/tool"]),
        ];
        let error = check_platform_split(&two(), &archives).unwrap_err();
        assert!(error.ends_with("`tool` is no directory"), "{error}");
        let error = check_platform_split(&two(), &archives_merged).unwrap_err();
        assert!(
            error.contains("not under one platform directory"),
            "{error}"
        );
        let empty = [archive(&[]), archive(&["linux_arm64/tool"])];
        let error = check_platform_split(&two(), &empty).unwrap_err();
        assert!(error.ends_with("it holds nothing"), "{error}");
    }

    #[test]
    fn two_transfers_in_one_directory_or_a_missing_one_are_refused() {
        let same = [archive(&["linux_amd64/a"]), archive(&["linux_amd64/b"])];
        let error = check_platform_split(&two(), &same).unwrap_err();
        assert!(
            error.contains("the same directory `linux_amd64`"),
            "{error}"
        );
        let one = [archive(&["linux_amd64/a"])];
        let error = check_platform_split(&two(), &one).unwrap_err();
        assert!(error.ends_with("the builder sent 1"), "{error}");
    }
}
