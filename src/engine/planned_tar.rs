//! A tar described, not written: each entry's header and where its content
//! comes from (memory, or a file of the host read only while the tar is
//! written). A context or an upload planned this way is written into the
//! request as it is sent (`tar_stream`), so its size costs no memory.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use super::tar_stream::ExactReader;

/// What one entry of a planned tar holds.
#[derive(Debug, Clone)]
pub enum EntryBody {
    Empty,
    Bytes(Vec<u8>),
    Link(String),
    Host { path: PathBuf, size: u64 },
}

#[derive(Debug, Clone)]
struct Planned {
    header: tar::Header,
    /// The name in the tar (relative; a directory's ends with `/`).
    name: String,
    body: EntryBody,
}

/// A tar described, not written: headers, and where each entry's content
/// comes from. Plans of several copies join into one upload.
#[derive(Debug, Clone, Default)]
pub struct PlannedTar {
    entries: Vec<Planned>,
}

impl PlannedTar {
    /// Add an entry: `name` is relative (a directory's ends with `/`),
    /// `header` complete but for the name.
    pub fn push(&mut self, header: tar::Header, name: String, body: EntryBody) {
        self.entries.push(Planned { header, name, body });
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each entry's path in the image (absolute, no trailing `/`) and type.
    pub fn listing(&self) -> impl Iterator<Item = (String, tar::EntryType)> + '_ {
        self.entries.iter().map(|entry| {
            let path = format!("/{}", entry.name.trim_end_matches('/'));
            (path, entry.header.entry_type())
        })
    }

    /// Add the entries of `other` after these.
    pub fn extend(&mut self, other: PlannedTar) {
        self.entries.extend(other.entries);
    }

    /// The bytes this plan holds in memory (headers, names and contents
    /// kept in memory; files of the host count nothing).
    pub fn bytes_held(&self) -> usize {
        self.entries
            .iter()
            .map(|entry| {
                let body = match &entry.body {
                    EntryBody::Bytes(data) => data.len(),
                    EntryBody::Link(link) => link.len(),
                    EntryBody::Empty | EntryBody::Host { .. } => 0,
                };
                512 + entry.name.len() + body
            })
            .sum()
    }

    /// Write the entries (not the end of the archive) to `builder`,
    /// reading files of the host as they are written.
    pub fn append_to<W: Write>(&self, builder: &mut tar::Builder<W>) -> io::Result<()> {
        for entry in &self.entries {
            let mut header = entry.header.clone();
            match &entry.body {
                EntryBody::Empty => builder.append_data(&mut header, &entry.name, io::empty())?,
                EntryBody::Bytes(data) => {
                    builder.append_data(&mut header, &entry.name, data.as_slice())?;
                }
                EntryBody::Link(link) => builder.append_link(&mut header, &entry.name, link)?,
                EntryBody::Host { path, size } => {
                    let file = fs::File::open(path).map_err(|error| {
                        io::Error::new(error.kind(), format!("{}: {error}", path.display()))
                    })?;
                    let exact = ExactReader::new(file, *size, path.display().to_string());
                    builder.append_data(&mut header, &entry.name, exact)?;
                }
            }
        }
        Ok(())
    }

    /// The whole tar in memory, end of archive included.
    pub fn to_bytes(&self) -> io::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        self.append_to(&mut builder)?;
        builder.into_inner()
    }
}
