//! Reading the files stages takes as input (stages.toml, Dockerfiles, build
//! scripts) with a bound on their size, so that a device or a runaway file
//! (`-f /dev/zero`) is refused at once instead of filling memory.

use std::io::{self, Read};
use std::path::Path;

/// The largest input file read: far above any real stages.toml or
/// Dockerfile, small enough that reading and checking one stays quick.
pub const MAX_INPUT_BYTES: u64 = 8 * 1024 * 1024;

/// All of `reader`, or an error once it gives more than [`MAX_INPUT_BYTES`].
/// Never holds more than that much.
pub fn read_bounded(reader: impl Read) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB, the most stages reads from one input file",
                MAX_INPUT_BYTES / (1024 * 1024)
            ),
        ));
    }
    Ok(bytes)
}

/// The bytes of the file at `path`, within the bound.
pub fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    read_bounded(std::fs::File::open(path)?)
}

/// The text of the file at `path`, within the bound; invalid UTF-8 is an error.
pub fn read_text(path: &Path) -> io::Result<String> {
    String::from_utf8(read_file(path)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_stream_is_refused_after_the_bound() {
        let error = read_bounded(io::repeat(0)).expect_err("too large");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("8 MiB"), "{error}");
    }

    #[test]
    fn a_stream_of_exactly_the_bound_is_read() {
        let bytes = read_bounded(io::repeat(b'a').take(MAX_INPUT_BYTES)).expect("at the bound");
        assert_eq!(bytes.len() as u64, MAX_INPUT_BYTES);
    }
}
