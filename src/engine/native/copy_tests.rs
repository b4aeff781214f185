use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;

use super::*;

/// What a planned tar holds: path → (kind, mode, uid, gid, content or link).
type Listing = BTreeMap<String, (char, u32, u64, u64, String)>;

fn listing(plan: &CopyPlan) -> Listing {
    let bytes = plan.tar.to_bytes().unwrap();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut out = Listing::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        let path = format!("/{}", entry.path().unwrap().display());
        let path = path.trim_end_matches('/').to_owned();
        let (kind, detail) = match header.entry_type() {
            tar::EntryType::Directory => ('d', String::new()),
            tar::EntryType::Symlink => (
                'l',
                entry.link_name().unwrap().unwrap().display().to_string(),
            ),
            tar::EntryType::Link => (
                'h',
                entry.link_name().unwrap().unwrap().display().to_string(),
            ),
            _ => {
                let mut text = String::new();
                entry.read_to_string(&mut text).unwrap();
                ('f', text)
            }
        };
        out.insert(
            path,
            (
                kind,
                header.mode().unwrap(),
                header.uid().unwrap(),
                header.gid().unwrap(),
                detail,
            ),
        );
    }
    out
}

struct Context {
    dir: tempfile::TempDir,
}

impl Context {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let full = dir.path().join(path);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(&full, content).unwrap();
            fs::set_permissions(&full, fs::Permissions::from_mode(0o644)).unwrap();
        }
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn plan(&self, sources: &[&str], dest: &str) -> Result<CopyPlan, CopyError> {
        self.plan_with(sources, dest, |_| {})
    }

    fn plan_with<'a>(
        &'a self,
        sources: &[&str],
        dest: &'a str,
        tweak: impl FnOnce(&mut CopyRequest<'a>),
    ) -> Result<CopyPlan, CopyError> {
        let sources: &'a [String] = Box::leak(
            sources
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let mut request = CopyRequest {
            context: self.path(),
            sources,
            dest,
            workdir: "/srv",
            owner: Owner::default(),
            chmod: None,
            exclude: &[],
            filter: &NoFilter,
            extract_archives: false,
            dest_is_dir: false,
            cancel: None,
        };
        tweak(&mut request);
        plan_copy(&request)
    }
}

fn paths(plan: &CopyPlan) -> Vec<String> {
    listing(plan).keys().cloned().collect()
}

#[test]
fn destination_rules() {
    let ctx = Context::new(&[
        ("a.txt", "A"),
        ("b.txt", "B"),
        ("src/x", "X"),
        ("src/sub/y", "Y"),
    ]);
    let cases: &[(&[&str], &str, &[&str])] = &[
        (&["a.txt"], "app/", &["/srv/app/a.txt"]),
        (&["a.txt"], ".", &["/srv/a.txt"]),
        (&["a.txt"], "/b.txt", &["/b.txt"]),
        (&["./a.txt"], "renamed", &["/srv/renamed"]),
        (&["/a.txt"], "/opt/", &["/opt/a.txt"]),
        (&["a.txt", "b.txt"], "/opt/", &["/opt/a.txt", "/opt/b.txt"]),
        (&["*.txt"], "/opt/", &["/opt/a.txt", "/opt/b.txt"]),
        (&["s?c/x"], "/one", &["/one"]),
        (&["src"], "/dst", &["/dst/sub", "/dst/sub/y", "/dst/x"]),
        (
            &["."],
            "/all/",
            &[
                "/all/a.txt",
                "/all/b.txt",
                "/all/src",
                "/all/src/sub",
                "/all/src/sub/y",
                "/all/src/x",
            ],
        ),
    ];
    for (sources, dest, expected) in cases {
        let plan = ctx.plan(sources, dest).unwrap();
        assert_eq!(paths(&plan), *expected, "{sources:?} → {dest}");
    }
    let plan = ctx
        .plan_with(&["a.txt"], "/existing", |r| r.dest_is_dir = true)
        .unwrap();
    assert_eq!(paths(&plan), ["/existing/a.txt"]);
    let plan = ctx.plan(&["src/x"], "/x").unwrap();
    assert_eq!(listing(&plan)["/x"].4, "X");
}

#[test]
fn several_sources_onto_one_destination_are_copied_in_turn() {
    let ctx = Context::new(&[
        ("a.txt", "A"),
        ("b.txt", "B"),
        ("d1/one", "1"),
        ("d2/two", "2"),
    ]);
    // Files replace one another: the last is the destination.
    for sources in [&["a.txt", "b.txt"][..], &["*.txt"][..]] {
        let plan = ctx.plan(sources, "/opt").unwrap();
        assert_eq!(listing(&plan)["/opt"].4, "B", "{sources:?}");
        assert_eq!(paths(&plan), ["/opt"], "{sources:?}");
    }
    // A first directory makes the destination one; the rest go into it.
    let plan = ctx.plan(&["d*", "a.txt"], "/opt").unwrap();
    assert_eq!(paths(&plan), ["/opt/a.txt", "/opt/one", "/opt/two"]);
    // A directory cannot go over the file an earlier source wrote.
    assert!(matches!(
        ctx.plan(&["a.txt", "d1"], "/opt"),
        Err(CopyError::DirectoryOverFile { ref path, ref dest }) if path == "d1" && dest == "/opt"
    ));
    // An existing directory of the image takes them all.
    let plan = ctx
        .plan_with(&["*.txt"], "/opt", |r| r.dest_is_dir = true)
        .unwrap();
    assert_eq!(paths(&plan), ["/opt/a.txt", "/opt/b.txt"]);
    assert!(matches!(
        ctx.plan(&["*.md"], "/opt/"),
        Err(CopyError::NoMatch(_))
    ));
    assert!(matches!(
        ctx.plan(&["missing"], "/opt/"),
        Err(CopyError::NotFound(_))
    ));
    assert!(matches!(
        ctx.plan(&["[x"], "/opt/"),
        Err(CopyError::Pattern(_))
    ));
}

#[test]
fn sources_never_leave_the_context() {
    let outside = Context::new(&[("secret", "S")]);
    let ctx = Context::new(&[("a.txt", "A"), ("dir/inner", "I")]);
    std::os::unix::fs::symlink(outside.path().join("secret"), ctx.path().join("out-file")).unwrap();
    std::os::unix::fs::symlink(outside.path(), ctx.path().join("out-dir")).unwrap();
    std::os::unix::fs::symlink("a.txt", ctx.path().join("in-link")).unwrap();
    std::os::unix::fs::symlink("../a.txt", ctx.path().join("dir/up-link")).unwrap();
    for source in [
        "../secret",
        "dir/../../secret",
        "out-file",
        "out-dir",
        "out-dir/secret",
    ] {
        assert!(
            matches!(ctx.plan(&[source], "/x/"), Err(CopyError::Escapes(_))),
            "{source}"
        );
    }
    // A top-level symlink inside the context is followed.
    let plan = ctx.plan(&["in-link"], "/x").unwrap();
    assert_eq!(listing(&plan)["/x"].4, "A");
    // Symlinks inside a copied directory stay symlinks.
    let plan = ctx.plan(&["dir"], "/d/").unwrap();
    assert_eq!(
        listing(&plan)["/d/up-link"],
        ('l', 0o777, 0, 0, "../a.txt".into())
    );
}

struct Ignore(Vec<&'static str>);

impl ContextFilter for Ignore {
    fn excluded(&self, path: &str) -> bool {
        self.0
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")))
    }
}

#[test]
fn dockerignore_and_exclude_leave_files_out() {
    let ctx = Context::new(&[
        ("keep", "K"),
        ("secret.env", "S"),
        ("app/main.rs", "M"),
        ("app/target/big", "B"),
        ("app/notes.md", "N"),
    ]);
    let ignore = Ignore(vec!["secret.env", "app/target"]);
    let plan = ctx
        .plan_with(&["."], "/c/", |r| r.filter = &ignore)
        .unwrap();
    assert_eq!(
        paths(&plan),
        ["/c/app", "/c/app/main.rs", "/c/app/notes.md", "/c/keep"]
    );
    assert!(matches!(
        ctx.plan_with(&["secret.env"], "/c/", |r| r.filter = &ignore),
        Err(CopyError::NotFound(_))
    ));
    let exclude = vec!["*.md".to_owned(), "target".to_owned()];
    let plan = ctx
        .plan_with(&["app"], "/a/", |r| r.exclude = &exclude)
        .unwrap();
    assert_eq!(paths(&plan), ["/a/main.rs"]);
}

#[test]
fn chown_and_chmod_apply_to_files_and_directories() {
    let ctx = Context::new(&[("d/f", "F")]);
    fs::set_permissions(ctx.path().join("d/f"), fs::Permissions::from_mode(0o755)).unwrap();
    let plan = ctx.plan(&["d/f"], "/f").unwrap();
    assert_eq!(listing(&plan)["/f"], ('f', 0o755, 0, 0, "F".into()));
    let plan = ctx
        .plan_with(&["."], "/x/", |r| {
            r.owner = Owner { uid: 10, gid: 20 };
            r.chmod = Some(0o640);
        })
        .unwrap();
    let listed = listing(&plan);
    assert_eq!(listed["/x/d"], ('d', 0o640, 10, 20, String::new()));
    assert_eq!(listed["/x/d/f"], ('f', 0o640, 10, 20, "F".into()));
}

fn tarball(entries: &[(&str, &str)], gzip: bool) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o600);
        header.set_uid(7);
        header.set_gid(8);
        // Written by hand so that hostile names such as `../x` get through.
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        builder.append(&header, content.as_bytes()).unwrap();
    }
    let plain = builder.into_inner().unwrap();
    if !gzip {
        return plain;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&plain).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn add_extracts_local_archives_and_copy_does_not() {
    let ctx = Context::new(&[]);
    fs::write(
        ctx.path().join("a.tar.gz"),
        tarball(&[("top/f", "F")], true),
    )
    .unwrap();
    fs::write(ctx.path().join("b.tar"), tarball(&[("./g", "G")], false)).unwrap();
    let plan = ctx
        .plan_with(&["a.tar.gz", "b.tar"], "/opt/", |r| {
            r.extract_archives = true
        })
        .unwrap();
    let listed = listing(&plan);
    assert_eq!(listed["/opt/top/f"], ('f', 0o600, 7, 8, "F".into()));
    assert_eq!(listed["/opt/g"].4, "G");
    let plan = ctx.plan(&["b.tar"], "/opt/").unwrap();
    assert_eq!(paths(&plan), ["/opt/b.tar"]);

    fs::write(
        ctx.path().join("evil.tar"),
        tarball(&[("../../etc/x", "E")], false),
    )
    .unwrap();
    assert!(matches!(
        ctx.plan_with(&["evil.tar"], "/opt/", |r| r.extract_archives = true),
        Err(CopyError::ArchiveEscapes { .. })
    ));
}

#[test]
fn digest_follows_content_not_timestamps() {
    let ctx = Context::new(&[("f", "one")]);
    let first = ctx.plan(&["f"], "/f").unwrap().digest;
    let file = fs::File::options()
        .write(true)
        .open(ctx.path().join("f"))
        .unwrap();
    file.set_modified(std::time::UNIX_EPOCH).unwrap();
    assert_eq!(ctx.plan(&["f"], "/f").unwrap().digest, first);
    fs::write(ctx.path().join("f"), "two").unwrap();
    assert_ne!(ctx.plan(&["f"], "/f").unwrap().digest, first);
    assert_ne!(ctx.plan(&["f"], "/g").unwrap().digest, first);
}

#[test]
fn path_helpers() {
    assert_eq!(clean_relative("./a/../b/"), Some("b".into()));
    assert_eq!(clean_relative("/abs/x"), Some("abs/x".into()));
    assert_eq!(clean_relative("a/../../x"), None);
    assert_eq!(absolute_dest("/srv", "app/"), "/srv/app");
    assert_eq!(absolute_dest("/", "."), "/");
    assert_eq!(absolute_dest("/srv", "/abs"), "/abs");
    assert!(ends_as_dir("x/") && ends_as_dir(".") && !ends_as_dir("x"));
}

/// Entries of a test tar: a path and, for a link, its target.
type Entries<'a> = &'a [(&'a str, Option<&'a str>)];

/// A plain tar of links (`Some(target)`) and files (`None`, content "x").
fn linked_tarball(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, link) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        match link {
            Some(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
            None => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(1);
                builder.append_data(&mut header, path, &b"x"[..]).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

#[test]
fn add_never_follows_a_link_of_the_archive_out_of_the_destination() {
    let ctx = Context::new(&[]);
    let cases: &[(&str, Entries)] = &[
        ("abs.tar", &[("l", Some("/etc")), ("l/probe-evil", None)]),
        ("tmp.tar", &[("d", Some("/tmp")), ("d/sub/f", None)]),
    ];
    for (name, entries) in cases {
        fs::write(ctx.path().join(name), linked_tarball(entries)).unwrap();
        let refused = ctx.plan_with(&[name], "/dest/", |r| r.extract_archives = true);
        let Err(error @ CopyError::ArchiveLink { .. }) = refused else {
            panic!("{name}: {refused:?}");
        };
        let message = error.to_string();
        assert!(message.contains(entries[1].0), "{message}");
        assert!(message.contains(name), "{message}");
    }

    // A link climbing above the destination stays at its root.
    fs::write(
        ctx.path().join("up.tar"),
        linked_tarball(&[("l2", Some("../../..")), ("l2/tmp/x", None)]),
    )
    .unwrap();
    let plan = ctx
        .plan_with(&["up.tar"], "/dest/", |r| r.extract_archives = true)
        .unwrap();
    assert_eq!(paths(&plan), ["/dest/l2", "/dest/tmp/x"]);
    assert_eq!(listing(&plan)["/dest/l2"].4, "../../..");
    assert_eq!(
        plan.implied_dirs,
        [ImpliedDir {
            path: "/dest/tmp".to_owned(),
            archive: "up.tar".to_owned(),
            entry: "l2/tmp/x".to_owned(),
        }]
    );

    // A link to a directory the archive made leads there.
    fs::write(
        ctx.path().join("in.tar"),
        linked_tarball(&[("etc/a", None), ("l", Some("/etc")), ("l/b", None)]),
    )
    .unwrap();
    let plan = ctx
        .plan_with(&["in.tar"], "/dest/", |r| r.extract_archives = true)
        .unwrap();
    assert_eq!(paths(&plan), ["/dest/etc/a", "/dest/etc/b", "/dest/l"]);
}

/// Plans on a thread of its own: a plan that blocks fails the test
/// instead of hanging it.
fn plan_in_time(
    ctx: &Context,
    sources: &[&str],
    dest: &str,
    extract: bool,
) -> Result<Vec<String>, String> {
    let context = ctx.path().to_owned();
    let sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    let dest = dest.to_owned();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let planned = plan_copy(&CopyRequest {
            context: &context,
            sources: &sources,
            dest: &dest,
            workdir: "/",
            owner: Owner::default(),
            chmod: None,
            exclude: &[],
            filter: &NoFilter,
            extract_archives: extract,
            dest_is_dir: false,
            cancel: None,
        });
        let _ = sender.send(planned.map(|p| paths(&p)).map_err(|e| e.to_string()));
    });
    receiver
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("planning the copy blocked")
}

#[test]
fn special_files_are_never_opened() {
    let ctx = Context::new(&[("dir/a", "A")]);
    let fifo = ctx.path().join("dir/pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let _socket = std::os::unix::net::UnixListener::bind(ctx.path().join("dir/sock")).unwrap();

    for extract in [false, true] {
        let refused = plan_in_time(&ctx, &["dir/pipe"], "/p", extract).unwrap_err();
        assert!(
            refused.contains("\"dir/pipe\" is a named pipe"),
            "{refused}"
        );
        let refused = plan_in_time(&ctx, &["dir/sock"], "/s", extract).unwrap_err();
        assert!(refused.contains("\"dir/sock\" is a socket"), "{refused}");
        let refused = plan_in_time(&ctx, &["dir/p*"], "/x/", extract).unwrap_err();
        assert!(refused.contains("named pipe"), "{refused}");
    }
    // A link to one is followed when named, as any named source is.
    std::os::unix::fs::symlink("dir/pipe", ctx.path().join("to-pipe")).unwrap();
    let refused = plan_in_time(&ctx, &["to-pipe"], "/p", false).unwrap_err();
    assert!(refused.contains("named pipe"), "{refused}");

    // Inside a copied directory they are left out.
    let copied = plan_in_time(&ctx, &["."], "/all/", false).unwrap();
    assert_eq!(copied, ["/all/dir", "/all/dir/a", "/all/to-pipe"]);
}

#[test]
fn a_planned_copy_holds_no_file_content_in_memory() {
    let ctx = Context::new(&[("small", "s")]);
    let size: u64 = 64 << 20;
    // Sparse: costs no disk, reads as zeros.
    fs::File::create(ctx.path().join("big"))
        .unwrap()
        .set_len(size)
        .unwrap();
    let plan = ctx.plan(&["big", "small"], "/in/").unwrap();
    assert!(
        plan.tar.bytes_held() < 64 * 1024,
        "the plan holds {} bytes",
        plan.tar.bytes_held()
    );
    // What is sent is the file, read from disk.
    let sent = plan.tar.to_bytes().unwrap();
    let mut archive = tar::Archive::new(sent.as_slice());
    let sizes: Vec<(String, u64)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path().unwrap().display().to_string(), e.size())
        })
        .collect();
    assert_eq!(
        sizes,
        [("in/big".to_owned(), size), ("in/small".to_owned(), 1)]
    );
    // The digest is the content's, as when the file was held in memory.
    let zeros = vec![0u8; size as usize];
    let mut writer = TarWriter::new(Owner::default(), None);
    writer
        .add_entry(TarEntry {
            path: "/in/big".to_owned(),
            kind: EntryKind::File(zeros),
            mode: 0o644,
            owner: Owner::default(),
            mtime: 0,
            keep_owner: false,
        })
        .unwrap();
    let alone = ctx.plan(&["big"], "/in/").unwrap();
    assert_eq!(writer.finish().unwrap().digest, alone.digest);
}

#[test]
fn a_cancelled_plan_stops_reading_the_context() {
    let ctx = Context::new(&[("dir/a", "A"), ("f", "F")]);
    let cancel = AtomicBool::new(true);
    for source in ["f", "dir"] {
        let refused = ctx.plan_with(&[source], "/x/", |r| r.cancel = Some(&cancel));
        assert!(matches!(refused, Err(CopyError::Cancelled)), "{refused:?}");
    }
    let running = AtomicBool::new(false);
    assert!(
        ctx.plan_with(&["dir"], "/x/", |r| r.cancel = Some(&running))
            .is_ok()
    );
}
