//! A list's column headers: which of the kind's columns are shown (`cols`), and which sort the
//! list when clicked (the indexed orders only).

use super::super::values::Values;
use crate::error::{AppError, ErrorCode};

/// A column header as the grid and the column chooser show it.
pub struct Header {
    pub label: &'static str,
    /// The name `cols` chooses it by ("expected-close").
    pub key: String,
    pub shown: bool,
    /// The first column (the record's link) is always shown.
    pub fixed: bool,
    /// Where clicking the header sorts the list to; none for an order no index gives.
    pub sort_href: Option<String>,
    /// Whether the list is in this column's order (`aria-sort`).
    pub sorted: bool,
}

/// The `cols` name of a column label.
pub fn key(label: &str) -> String {
    label.to_lowercase().replace(' ', "-")
}

/// Which of `columns` `cols` chooses (none chosen: every one). An unknown name is E2004.
pub fn chosen(columns: &[&str], cols: &[String]) -> Result<Vec<bool>, AppError> {
    let keys: Vec<String> = columns.iter().map(|c| key(c)).collect();
    if let Some(unknown) = cols.iter().find(|c| !keys.contains(c)) {
        tracing::debug!(column = %unknown, "unknown list column");
        return Err(AppError::field(ErrorCode::InvalidFormat, "cols"));
    }
    Ok(keys.iter().enumerate().map(|(i, k)| i == 0 || cols.is_empty() || cols.contains(k)).collect())
}

/// The headers of a list at `path` with the query `values`, in the order `sort` (the
/// effective one: the kind's default when none is asked for).
pub fn headers(
    path: &str,
    values: &Values,
    columns: &'static [&'static str],
    shown: &[bool],
    sorts: &[(&str, &str)],
    sort: &str,
) -> Vec<Header> {
    columns
        .iter()
        .zip(shown)
        .enumerate()
        .map(|(i, (label, shown))| {
            let order = sorts.iter().find(|(column, _)| column == label).map(|(_, order)| *order);
            Header {
                label,
                key: key(label),
                shown: *shown,
                fixed: i == 0,
                sort_href: order.map(|o| format!("{path}?{}", super::query_string(&values.with("sort", o), &[]))),
                sorted: order == Some(sort),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_known_columns_and_keeps_the_first() {
        let columns = ["Name", "Email", "Expected close"];
        assert_eq!(chosen(&columns, &[]).unwrap(), [true, true, true]);
        assert_eq!(chosen(&columns, &["expected-close".into()]).unwrap(), [true, false, true]);
        assert!(chosen(&columns, &["password".into()]).is_err());
    }
}
