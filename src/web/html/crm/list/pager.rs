//! Where a list page sits among all its rows: "1–50 of 2,004", the previous and next links
//! (index seeks from the page's first and last rows) and the jump-to-page form.

use super::super::values::Values;
use crate::app::crm::Total;
use crate::domain::fields::group_digits;

/// What the pager above and below the grid shows.
pub struct Pager {
    /// "1–50 of 2,004", "51–100 of 5,000+", "No records".
    pub position: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// The page shown (1 = first).
    pub page: usize,
    /// The last page, when the total is exact (the jump form's bound).
    pub last_page: Option<usize>,
    /// The list's query (filters, sort, columns) the jump form carries as hidden inputs.
    pub keep: Vec<(String, String)>,
}

/// Where the page is and where its neighbours start.
pub struct Position<'a> {
    pub page: usize,
    pub limit: usize,
    pub rows: usize,
    pub total: Total,
    pub prev_cursor: Option<&'a str>,
    pub next_cursor: Option<&'a str>,
}

/// How many pages `total` rows take, `limit` a page (at least one).
pub fn last_page(total: u64, limit: usize) -> usize {
    usize::try_from(total).unwrap_or(usize::MAX).div_ceil(limit.max(1)).max(1)
}

impl Pager {
    /// The pager of a page of the list at `path` with the query `values`.
    pub fn new(path: &str, values: &Values, at: Position<'_>) -> Pager {
        // A page number comes from the address: arithmetic on it never overflows.
        let first = (at.page.max(1) - 1).saturating_mul(at.limit).saturating_add(1);
        let last = first.saturating_add(at.rows.saturating_sub(1));
        let position = match at.total {
            _ if at.rows == 0 => "No records".to_owned(),
            Total::Exact(n) => format!("{}–{} of {}", group(first), group(last), group_digits(&n.to_string())),
            // Past the page, at least as many as counted.
            Total::AtLeast(n) => {
                format!("{}–{} of {}+", group(first), group(last), group_digits(&n.max(last as u64).to_string()))
            }
        };
        let link = |then: &[(&str, &str)]| format!("{path}?{}", super::query_string(values, then));
        let prev = at.prev_cursor.map(|cursor| match at.page {
            // The first page's own address: the same cached view as opening the list.
            0..=2 => link(&[]),
            page => link(&[("before", cursor), ("page", &(page - 1).to_string())]),
        });
        let next =
            at.next_cursor.map(|cursor| link(&[("cursor", cursor), ("page", &at.page.saturating_add(1).to_string())]));
        let last_page = match at.total {
            Total::Exact(n) => Some(last_page(n, at.limit)),
            Total::AtLeast(_) => None,
        };
        let keep = values.pairs().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
        Pager { position, prev, next, page: at.page, last_page, keep }
    }

    /// Whether there is more than one page (else the pager shows the count alone).
    pub fn pages(&self) -> bool {
        self.prev.is_some() || self.next.is_some()
    }
}

fn group(n: usize) -> String {
    group_digits(&n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(page: usize, rows: usize, total: Total) -> Position<'static> {
        Position { page, limit: 50, rows, total, prev_cursor: Some("p"), next_cursor: Some("n") }
    }

    #[test]
    fn says_where_the_page_is_and_links_its_neighbours() {
        let mut values = Values::default();
        values.set("tag", "vip");
        let pager = Pager::new("/contacts", &values, at(3, 50, Total::Exact(2_004)));
        assert_eq!(pager.position, "101–150 of 2,004");
        assert_eq!(pager.prev.as_deref(), Some("/contacts?tag=vip&before=p&page=2"));
        assert_eq!(pager.next.as_deref(), Some("/contacts?tag=vip&cursor=n&page=4"));
        assert_eq!(pager.last_page, Some(41));
        let second = Pager::new("/contacts", &values, at(2, 50, Total::AtLeast(5_000)));
        assert_eq!(second.prev.as_deref(), Some("/contacts?tag=vip"), "page 1 is the list itself");
        assert_eq!(second.position, "51–100 of 5,000+");
        assert_eq!(Pager::new("/c", &values, at(1, 0, Total::Exact(0))).position, "No records");
    }
}
