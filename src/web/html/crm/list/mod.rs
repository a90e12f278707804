//! The list of every kind: a filter form (GET) with its filters as removable chips, 50 rows
//! under sortable headers and the columns chosen, and a pager that keeps it all. One handler
//! and one template serve contacts, companies, deals and tasks.

mod chips;
mod columns;
mod pager;
pub mod views;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::kinds::{Cell, Choices, PageKind};
use super::values::{Field, Values};
use std::sync::Arc;

use crate::app::ViewCache;
use crate::app::auth::TenantScope;
use crate::app::auth::permissions::Action;
use crate::app::crm::{ListFilter, Start, Total};
use crate::domain::crm::Kind;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Page};
use crate::web::html::forms::{FormError, NoticeQuery, notice};
use crate::web::html::layout::Layout;

#[derive(Template, WebTemplate)]
#[template(path = "crm_list.html")]
struct ListPage<'a> {
    layout: Layout,
    heading: &'static str,
    plural: &'static str,
    action: String,
    /// Another view of the same records (the deal board).
    other_view: Option<(&'static str, &'static str)>,
    can_create: bool,
    /// Export (and, for contacts and companies, import) links, for managers and up.
    can_import_export: bool,
    /// The filters, for the export link, the vCard export form and the column chooser.
    export_query: String,
    filter_pairs: Vec<(String, String)>,
    fields: Vec<Field>,
    /// The active filters, each removable.
    chips: Vec<chips::Chip>,
    headers: Vec<columns::Header>,
    /// The columns chosen (the filter form keeps them).
    cols: Vec<String>,
    /// The saved views the caller sees, as tabs; the list's query, to save as one.
    views: Vec<views::ViewTab>,
    view_query: String,
    /// Whether a view may be shared with the workspace (managers and up).
    can_share: bool,
    /// Each row's record id (for the bulk checkboxes) and cells.
    rows: &'a [(String, Vec<Cell>)],
    pager: pager::Pager,
    /// The bulk bar (managers and up): the people to assign to, and whether tags apply.
    bulk: Option<BulkBar>,
    error: Option<FormError>,
    notice: Option<&'static str>,
    /// The workspace holds no record of this kind at all: what to do first, instead of a grid.
    empty_state: Option<crate::web::html::empty_state::EmptyState>,
}

/// What the bulk bar under a list offers.
pub struct BulkBar {
    pub people: Vec<(String, String)>,
    pub tags: bool,
}

/// The filter as form values (what the filter form shows and the next link carries).
fn filter_values(f: &ListFilter) -> Values {
    let mut values = Values::default();
    let pairs = [
        ("q", &f.q),
        ("status", &f.status),
        ("tag", &f.tag),
        ("owner", &f.owner),
        ("company", &f.company),
        ("stage", &f.stage),
        ("assignee", &f.assignee),
        ("state", &f.state),
        ("created_from", &f.created_from),
        ("created_to", &f.created_to),
        ("sort", &f.sort),
    ];
    for (name, value) in pairs {
        if !value.trim().is_empty() {
            values.set(name, value.trim());
        }
    }
    values
}

/// Where a kind's list is (deals and tasks have another page at their plain path).
pub fn list_path(kind: Kind) -> String {
    match kind {
        Kind::Company | Kind::Contact => format!("/{}", kind.plural()),
        _ => format!("/{}/list", kind.plural()),
    }
}

/// The list's query as a query string, and `then` after it (a page's cursor).
fn query_string(values: &Values, then: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(values.pairs().chain(then.iter().copied()));
    query.finish()
}

/// The `cols` of a list's query string (repeated: one per chosen column).
fn cols_of(raw: Option<&str>) -> Vec<String> {
    let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes());
    pairs.filter(|(n, v)| n == "cols" && !v.is_empty()).map(|(_, v)| v.into_owned()).collect()
}

fn pairs(options: &[(&str, &str)]) -> Vec<(String, String)> {
    options.iter().map(|(v, l)| ((*v).to_owned(), (*l).to_owned())).collect()
}

/// The filter form of a kind: search, the kind's own filters, created dates, sort.
fn filter_fields(kind: Kind, shown: &[&str], values: &Values, choices: &Choices) -> Vec<Field> {
    let mut fields = vec![Field::of_kind(values, "q", "Name starts with", "search")];
    for name in shown {
        if *name == "company" && choices.companies.is_empty() {
            continue;
        }
        fields.push(match *name {
            "status" => Field::select(values, "status", "Status", Choices::statuses(), true),
            "owner" => Field::select(values, "owner", "Owner", choices.people(), true),
            "assignee" => Field::select(values, "assignee", "Assignee", choices.people(), true),
            "company" => Field::select(values, "company", "Company", choices.companies(), true),
            "stage" => Field::select(values, "stage", "Stage", choices.stages(), true),
            "state" if kind == Kind::Task => {
                Field::select(values, "state", "State", pairs(&[("open", "Open"), ("done", "Done")]), true)
            }
            "state" => {
                let states = pairs(&[("active", "Active"), ("archived", "Archived")]);
                Field::select(values, "state", "State", states, true)
            }
            _ => Field::text(values, "tag", "Tag").max(40),
        });
    }
    fields.push(Field::of_kind(values, "created_from", "Created from", "date"));
    fields.push(Field::of_kind(values, "created_to", "Created until", "date"));
    let sorts: &[(&str, &str)] = if kind == Kind::Task {
        &[("due", "By due date"), ("name", "By name"), ("newest", "Newest first")]
    } else {
        &[("name", "By name"), ("newest", "Newest first")]
    };
    fields.push(Field::select(values, "sort", "Sort", pairs(sorts), false));
    fields
}

/// What the filter selects offer: people, stages, and the company being filtered by (a list is
/// narrowed to one company from that company's page; loading every company for a select would
/// cost more than the list itself).
async fn filter_choices(
    state: &AppState,
    scope: &crate::app::auth::TenantScope,
    kind: Kind,
    filter: &ListFilter,
) -> Result<Choices, AppError> {
    let mut choices = Choices { people: state.app.records().people(scope).await?, ..Default::default() };
    if kind == Kind::Deal {
        choices.stages = state.app.pipeline().stages(scope).await?;
    }
    if let Ok(company) = filter.company.trim().parse() {
        let titles = state.app.records().titles::<crate::domain::crm::Company>(scope, vec![company]).await?;
        choices.companies = titles.into_iter().collect();
    }
    Ok(choices)
}

/// What a list page shows from the store: the filter selects' choices and one page of rows.
/// Kept between writes (see [`ViewCache`]): the same list is often opened again and again.
pub struct ListView {
    choices: Choices,
    rows: Vec<(String, Vec<Cell>)>,
    next_cursor: Option<String>,
    prev_cursor: Option<String>,
    total: Total,
    /// The page shown (a jump past the end shows the last one).
    page: usize,
    limit: usize,
}

impl ListView {
    /// No rows: the form again, with its error.
    fn empty(choices: Choices) -> ListView {
        let (next_cursor, prev_cursor) = (None, None);
        ListView { choices, rows: Vec::new(), next_cursor, prev_cursor, total: Total::Exact(0), page: 1, limit: 1 }
    }
}

/// List views are kept per kind and filter, cursor included (and workspace, as every view is).
pub type ListViews = ViewCache<(Kind, ListFilter), ListView>;

/// List views kept at most (each about 25 KB: one page of rows).
pub const LIST_VIEWS_KEPT: usize = 128;

/// Totals are kept per kind and filter whatever the page (cursor, direction and page number
/// cleared): a list's pages share one count until the next write, as a filtered count reads up
/// to a few thousand records.
pub type ListTotals = ViewCache<(Kind, ListFilter), Total>;

/// Totals kept at most (a few bytes each).
pub const LIST_TOTALS_KEPT: usize = 512;

/// How many records the list of `filter` holds (`parsed`: the same, parsed), kept between
/// writes.
async fn kept_total<T: PageKind>(
    state: &AppState,
    scope: &TenantScope,
    filter: &ListFilter,
    parsed: &crate::app::crm::ParsedFilter,
) -> Result<Total, AppError> {
    let counted = ListFilter { cursor: String::new(), before: String::new(), page: String::new(), ..filter.clone() };
    let count = async || state.app.records().total::<T>(scope, parsed).await;
    Ok(*state.app.records_view(scope, &state.views.totals, (T::KIND, counted), count).await?)
}

async fn list_view<T: PageKind>(
    state: &AppState,
    scope: &TenantScope,
    filter: &ListFilter,
) -> Result<ListView, AppError> {
    let choices = filter_choices(state, scope, T::KIND, filter).await?;
    let records = state.app.records();
    let mut query = filter.parse()?;
    let mut page = filter.page_number()?;
    let mut total = None;
    if let Start::Skip(rows) = query.start {
        // A jump past the last page lands on it (the total is known before the rows).
        let counted = kept_total::<T>(state, scope, filter, &query.filter).await?;
        if let Total::Exact(n) = counted {
            page = page.min(pager::last_page(n, query.limit));
            query.start = Start::Skip(rows.min((page - 1).saturating_mul(query.limit)));
        }
        total = Some(counted);
    }
    let listing = records.rows::<T>(scope, &query).await?;
    let total = match total {
        Some(total) => total,
        // One page of rows from the start is the whole list: nothing more to count.
        None if query.start == Start::First && listing.next_cursor.is_none() => {
            Total::Exact(listing.items.len() as u64)
        }
        None => kept_total::<T>(state, scope, filter, &query.filter).await?,
    };
    if matches!(query.start, Start::Before(_)) && listing.prev_cursor.is_none() {
        page = 1;
    }
    let companies = listing.items.iter().filter_map(|row| T::company_id(row)).collect();
    let subjects = listing.items.iter().filter_map(|row| T::subject(row)).collect();
    let names = super::names(state, scope, &choices.people, &choices.stages, companies, subjects).await?;
    let rows = listing.items.iter().map(|r| (r.id().to_string(), r.row(&names))).collect();
    let (next_cursor, prev_cursor) = (listing.next_cursor, listing.prev_cursor);
    Ok(ListView { choices, rows, next_cursor, prev_cursor, total, page, limit: query.limit })
}

pub async fn list<T: PageKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    RawQuery(raw): RawQuery,
    query: Result<Query<ListFilter>, QueryRejection>,
    notice_query: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, HtmlError> {
    let scope = &session.scope;
    let failed = |e| HtmlError::while_doing("list records", e);
    let mut filter = query.map(|Query(f)| f).unwrap_or_default();
    filter.limit = None;
    let compute = async || list_view::<T>(&state, scope, &filter).await;
    let view = if filter.reads_store_only() {
        state.app.records_view(scope, &state.views.lists, (T::KIND, filter.clone()), compute).await
    } else {
        compute().await.map(Arc::new)
    };
    let (view, error) = match view {
        Ok(view) => (view, None),
        // A filter value that doesn't parse: the form again, with the error and no rows.
        Err(e) if e.field_name().is_some() => {
            let choices = filter_choices(&state, scope, T::KIND, &filter).await.map_err(failed)?;
            (Arc::new(ListView::empty(choices)), Some(e))
        }
        Err(e) => return Err(failed(e)),
    };
    let choices = &view.choices;
    let path = list_path(T::KIND);
    let values = filter_values(&filter);
    let fields = filter_fields(T::KIND, T::FILTERS, &values, choices);
    let cols = cols_of(raw.as_deref());
    let (shown, error) = match columns::chosen(T::COLUMNS, &cols) {
        Ok(shown) => (shown, error),
        Err(e) => (vec![true; T::COLUMNS.len()], error.or(Some(e))),
    };
    // Every link of the page keeps the list's query: its filters, order and columns.
    let mut list_query = values.clone();
    for col in &cols {
        list_query.set("cols", col.as_str());
    }
    let sort = match filter.sort.trim() {
        "" => T::DEFAULT_SORT,
        sort => sort,
    };
    let position = pager::Position {
        page: view.page,
        limit: view.limit,
        rows: view.rows.len(),
        total: view.total,
        prev_cursor: view.prev_cursor.as_deref(),
        next_cursor: view.next_cursor.as_deref(),
    };
    let view_query = query_string(&list_query, &[]);
    let views = views::tabs(&state, scope, T::KIND, &view_query).await.map_err(failed)?;
    // Only an empty page asks whether the kind is empty altogether (else: "Nothing matches").
    let empty_state = match view.rows.is_empty() && error.is_none() {
        true => crate::web::html::empty_state::empty_state(&state, &session, T::KIND).await,
        false => None,
    };
    let view = ListPage {
        layout: Layout::new(T::TITLE, &page),
        heading: T::TITLE,
        plural: T::KIND.plural(),
        other_view: match T::KIND {
            Kind::Deal => Some(("/deals", "Board")),
            Kind::Task => Some(("/tasks", "My tasks")),
            _ => None,
        },
        can_create: scope.can(Action::CreateRecords),
        can_import_export: scope.can(Action::ImportExport)
            && matches!(T::KIND, Kind::Contact | Kind::Company | Kind::Deal),
        export_query: query_string(&values, &[]),
        filter_pairs: values.pairs().map(|(n, v)| (n.to_owned(), v.to_owned())).collect(),
        chips: chips::chips(&path, &list_query, &fields),
        headers: columns::headers(&path, &list_query, T::COLUMNS, &shown, T::SORTS, sort),
        cols,
        views,
        view_query,
        can_share: scope.can(Action::EditAllRecords),
        fields,
        rows: &view.rows,
        pager: pager::Pager::new(&path, &list_query, position),
        bulk: scope.can(Action::ImportExport).then(|| BulkBar {
            people: choices.people().collect(),
            tags: matches!(T::KIND, Kind::Contact | Kind::Company),
        }),
        error: error.as_ref().map(|e: &AppError| FormError::new("filter the list", e)),
        notice: notice_query.ok().and_then(|Query(q)| notice(&q.notice)),
        action: path,
        empty_state,
    };
    let status = super::super::forms::form_status(view.error.is_some());
    Ok((status, view).into_response())
}
