//! Cells of the CSV files we write and read back. A spreadsheet runs a cell starting with
//! `=`, `+`, `-` or `@` (or a tab, carriage return or NUL before one) as a formula, so exports
//! prefix such cells with `'` (and cells that start with `'` themselves, so the prefix can be
//! told apart); imports take exactly that prefix off again, so an export imports unchanged
//! (`'+1 555 000 1218` → `+1 555 000 1218`).

/// Whether a cell starting with `c` gets the `'` prefix: a spreadsheet would run it as a
/// formula, or it is a `'` (so a prefix is never mistaken for the cell's own text).
fn needs_prefix(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r' | '\0' | '\'')
}

/// A cell as written to a file: a would-be formula gets a leading `'`.
pub fn neutralise_formula(cell: &str) -> String {
    match cell.chars().next() {
        Some(c) if needs_prefix(c) => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// A cell as read from a file: the `'` that [`neutralise_formula`] adds is taken off. A `'`
/// before anything else is the cell's own text and stays.
pub fn restore_neutralised(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.chars().next().is_some_and(needs_prefix) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formula_triggers_are_neutralised() {
        for trigger in ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "\0x"] {
            assert!(neutralise_formula(trigger).starts_with('\''), "{trigger:?}");
        }
        assert_eq!(neutralise_formula("auth.sign_in"), "auth.sign_in");
        assert_eq!(restore_neutralised("'+1 555 000 1218"), "+1 555 000 1218");
        assert_eq!(restore_neutralised("'tis the season"), "'tis the season");
    }

    proptest! {
        #[test]
        fn every_cell_round_trips(cell in ".*") {
            let written = neutralise_formula(&cell);
            prop_assert_eq!(restore_neutralised(&written), cell.as_str());
        }
    }
}
