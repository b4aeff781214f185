//! Several sources copied to one destination that is neither a directory
//! of the image nor written with a trailing `/` (`COPY a.txt b.txt /dst`,
//! or a wildcard matching several paths). BuildKit copies the sources onto
//! the destination one after the other, in order (a wildcard's matches by
//! name): a first source that is a directory makes the destination one,
//! and the later sources go into it; files each replace the one before,
//! so the last is what the image holds; a directory cannot be copied over
//! a file an earlier source wrote. The classic builder refuses all of
//! these; the native back end builds what BuildKit builds.

/// What the sources, in order, make of the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InTurn {
    /// The first source is a directory: everything goes into the destination.
    IntoDirectory,
    /// Every source is a file: the one at this index is the destination.
    LastFile(usize),
    /// The source at this index is a directory, copied over a file.
    DirectoryOverFile(usize),
}

/// `makes_directory[i]`: whether source `i` is a directory (or an archive
/// ADD unpacks into the destination). Empty input means nothing to copy.
pub fn copied_in_turn(makes_directory: &[bool]) -> InTurn {
    match makes_directory.first() {
        Some(true) => InTurn::IntoDirectory,
        _ => match makes_directory.iter().position(|&dir| dir) {
            Some(index) => InTurn::DirectoryOverFile(index),
            None => InTurn::LastFile(makes_directory.len().saturating_sub(1)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{InTurn, copied_in_turn};

    #[test]
    fn files_leave_the_last_and_a_first_directory_takes_the_rest() {
        assert_eq!(copied_in_turn(&[false, false, false]), InTurn::LastFile(2));
        assert_eq!(copied_in_turn(&[true, false, true]), InTurn::IntoDirectory);
        assert_eq!(
            copied_in_turn(&[false, false, true]),
            InTurn::DirectoryOverFile(2)
        );
    }
}
