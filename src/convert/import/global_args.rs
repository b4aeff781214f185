//! Global ARGs declared more than once. `[args]` holds one entry per name,
//! its declarations as an array, written as consecutive ARG lines: a
//! redeclaration joins the earlier ones of its name when the move cannot
//! change a value. When it can, the declarations stay in file order, which
//! the writer keeps with the ordered form (`args = [{ … }, { … }]`).

use crate::config::model::ArgDecl;

/// Adds `decl` to `declared`, next to the earlier declarations of its name.
pub fn declare(declared: &mut Vec<ArgDecl>, decl: ArgDecl) {
    let name = decl.name.value.clone();
    let Some(last) = declared.iter().rposition(|d| d.name.value == name) else {
        declared.push(decl);
        return;
    };
    let between = &declared[last + 1..];
    // The declarations in between would see the new value instead of the
    // old one, and the new default would lose the names they declare.
    let read_by_between = between
        .iter()
        .any(|d| d.default.as_deref().is_some_and(|v| mentions(v, &name)));
    let reads_between = decl
        .default
        .as_deref()
        .is_some_and(|v| between.iter().any(|d| mentions(v, &d.name.value)));
    if read_by_between || reads_between {
        // Kept in file order: written as the ordered form of `args`.
        declared.push(decl);
        return;
    }
    declared.insert(last + 1, decl);
}

/// Whether `text` expands the variable `name` (`$name`, `${name…}`).
fn mentions(text: &str, name: &str) -> bool {
    crate::check::variable_uses(text)
        .iter()
        .any(|used| used == name)
}
