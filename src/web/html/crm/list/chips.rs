//! The active filters as removable chips: each a link to the same list without it.

use super::super::values::{Field, Values};

/// One active filter: "Owner: Ana", and the list without it.
pub struct Chip {
    pub text: String,
    pub href: String,
}

/// The chips of the filter form's `fields` that hold a value (the order is no filter).
pub fn chips(path: &str, values: &Values, fields: &[Field]) -> Vec<Chip> {
    fields
        .iter()
        .filter(|f| f.name != "sort" && !f.value.trim().is_empty())
        .map(|f| {
            let shown = f.choices.iter().find(|c| c.selected).map_or(f.value.as_str(), |c| c.label.as_str());
            Chip {
                text: format!("{}: {shown}", f.label),
                href: format!("{path}?{}", super::query_string(&values.without(f.name), &[])),
            }
        })
        .collect()
}
