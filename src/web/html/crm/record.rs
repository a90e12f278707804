//! A record's page: facts, tags, related records, notes, tasks and the activity timeline.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};

use super::kinds::{Cell, Choices, FormKind, Names, PageKind, Relation, path};
use super::values::{Field, Values};
use crate::app::auth::{AuthSession, TenantScope};
use crate::app::crm::records::TimelineView;
use crate::app::crm::{ListFilter, ListQuery, ParsedFilter};
use crate::domain::crm::{Contact, Deal, Kind, Note, Subject, Task, TimelineEvent};
use crate::domain::ids::RecordId;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Page};
use crate::web::html::filters;
use crate::web::html::forms::{FormError, notice};
use crate::web::html::layout::{Avatar, Layout};

/// Related records under a heading.
pub struct Section {
    pub heading: &'static str,
    pub items: Vec<Cell>,
}

/// A note as shown: its author, time and sanitised HTML.
pub struct NoteView {
    pub id: RecordId,
    pub author: String,
    pub at: i64,
    pub html: String,
    /// The author (or an editor of every record) may edit and delete it.
    pub editable: bool,
    /// Files attached to the note (through the API).
    pub files: Vec<super::files::FileView>,
}

/// A fact as the page shows it: its label, value and, when it can be edited on its own, the
/// address of that small form (`static/app.js` opens it in place).
#[derive(Clone)]
pub struct FactRow {
    pub label: &'static str,
    pub cell: Cell,
    pub edit: Option<String>,
}

/// The record's facts that have a value, each with its inline edit when the user may edit.
fn fact_rows<T: PageKind>(record: &T, names: &Names, can_edit: bool) -> Vec<FactRow> {
    let base = path(T::KIND, &record.id());
    record
        .facts(names)
        .into_iter()
        .filter(|(_, cell)| !cell.text.is_empty())
        .map(|(label, cell)| {
            let inline = T::INLINE.iter().find(|inline| inline.label == label).filter(|_| can_edit);
            FactRow { label, cell, edit: inline.map(|inline| format!("{base}/edit?field={}", inline.key)) }
        })
        .collect()
}

/// The header's facts: the first of each label of [`PageKind::KEY_FACTS`] that has a value.
fn key_facts<T: PageKind>(facts: &[FactRow]) -> Vec<FactRow> {
    T::KEY_FACTS.iter().filter_map(|key| facts.iter().find(|fact| fact.label == *key).cloned()).collect()
}

/// An attached task with its done button.
pub struct TaskRow {
    pub title: String,
    pub id: RecordId,
    pub due: String,
    pub assignee: String,
    pub done: bool,
}

/// One line of the activity timeline.
pub struct Line {
    pub at: i64,
    pub text: String,
    pub link: Option<String>,
}

/// A note the user typed that could not be saved (shown again with the error).
pub struct NoteDraft {
    pub body: String,
    pub error: FormError,
}

#[derive(Template, WebTemplate)]
#[template(path = "crm_record.html")]
struct RecordPage {
    layout: Layout,
    /// The confirmation of what was just done here ("Saved.").
    notice: Option<&'static str>,
    /// The flash's Undo (a note or task just deleted).
    undo: Option<String>,
    /// What the merge picker searched for.
    merge_query: String,
    noun: &'static str,
    list: &'static str,
    base: String,
    title: String,
    can_edit: bool,
    /// The initials avatar (people and companies).
    avatar: Option<Avatar>,
    facts: Vec<FactRow>,
    /// The header's few facts (a contact's company, email, phone…).
    key_facts: Vec<FactRow>,
    /// Each tag with its colour.
    tags: Vec<(String, &'static str)>,
    sections: Vec<Section>,
    /// Notes and tasks can be attached (companies, contacts, deals).
    activity: bool,
    /// The add-note and add-task forms are offered.
    can_create: bool,
    notes: Vec<NoteView>,
    tasks: Vec<TaskRow>,
    task_fields: Vec<Field>,
    note_body: String,
    error: Option<FormError>,
    /// A task's own page offers its done button.
    open_task: Option<RecordId>,
    subject_kind: &'static str,
    subject_id: String,
    timeline: Vec<Line>,
    /// Merging offered (contacts and companies, managers and up): look-alike records.
    merge: Option<Vec<(String, String)>>,
    /// Privacy export and erasure offered (contacts, managers and up).
    privacy: bool,
    /// Attached files (contacts, companies, deals).
    files: Option<super::files::FilesSection>,
    /// The way to the client portal (a company's page; a person's invitation), and its words.
    portal: Option<(String, &'static str)>,
}

/// A record page's query: the notice of what was just done, and the merge picker's search.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RecordQuery {
    #[serde(default)]
    notice: String,
    #[serde(default)]
    merge_q: String,
    /// A note just deleted here, to offer its undo.
    #[serde(default)]
    undo: String,
}

pub async fn show<T: PageKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    Query(query): Query<RecordQuery>,
) -> Result<Response, HtmlError> {
    let shown = Shown {
        notice: notice(&query.notice),
        merge_query: query.merge_q.trim().chars().take(100).collect(),
        file_error: None,
        undo: super::undo::offer(&state, &session.scope, &query.undo),
    };
    render::<T>(&state, &page, &session, super::parse_id(&id)?, None, shown).await
}

/// What a record page shows besides the record: a notice, the merge picker's search, and a
/// file that could not be attached.
#[derive(Debug, Default)]
pub struct Shown {
    pub notice: Option<&'static str>,
    pub merge_query: String,
    pub file_error: Option<FormError>,
    /// The flash's Undo form's action (a note or task just deleted).
    pub undo: Option<String>,
}

/// Renders the page of record `id` of kind `T`, with a note draft when one failed to save.
pub async fn render<T: PageKind>(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    id: RecordId,
    draft: Option<NoteDraft>,
    shown: Shown,
) -> Result<Response, HtmlError> {
    let scope = &session.scope;
    let view =
        state.app.records().get::<T>(scope, id).await.map_err(|e| HtmlError::while_doing("open the record", e))?;
    let record = &view.record;
    let load = async {
        let companies = record.company_id().into_iter().collect();
        let (people, stages) = (state.app.records().people(scope).await?, state.app.pipeline().stages(scope).await?);
        let subjects = record.subject().into_iter().collect();
        let names = super::names(state, scope, &people, &stages, companies, subjects).await?;
        let mut sections = Vec::new();
        for relation in record.relations() {
            sections.push(section(state, scope, &relation, &names).await?);
        }
        let activity = super::has_activity(T::KIND);
        let (notes, tasks) =
            if activity { attached(state, scope, T::KIND, id, &names).await? } else { Default::default() };
        let timeline =
            state.app.records().timeline(scope, T::KIND, id).await?.iter().map(|e| line(e, &names)).collect();
        Ok::<_, AppError>((people, names, sections, notes, tasks, timeline))
    };
    let (people, names, sections, notes, tasks, timeline) =
        load.await.map_err(|e| HtmlError::while_doing("open the record", e))?;
    let task_fields = if super::has_activity(T::KIND) {
        let mut values = Values::default();
        values.set("subject_kind", T::KIND.as_str());
        values.set("subject_id", id.to_string());
        values.set("assignee_id", scope.user().to_string());
        // The people were read for `names` already: one store read per page is enough.
        let choices = Choices { people, ..Default::default() };
        Task::fields(&values, &choices, true)
    } else {
        Vec::new()
    };
    let open_task = (view.can_edit && record.open_task()).then_some(id);
    let mergeable = matches!(T::KIND, Kind::Contact | Kind::Company);
    let merge = if mergeable && scope.can(crate::app::auth::permissions::Action::EditAllRecords) {
        let input = T::input(&record.values(), true).unwrap_or_default();
        let mut found = state.app.records().possible_duplicates::<T>(scope, &input).await?;
        if !shown.merge_query.is_empty() {
            let filter = ListFilter { q: shown.merge_query.clone(), limit: Some(10), ..Default::default() };
            let matches = state.app.records().list::<T>(scope, &filter.parse()?).await?.items;
            found.extend(
                matches
                    .iter()
                    .map(|r| (r.id(), r.title()))
                    .filter(|(other, _)| !found.iter().any(|(f, _)| f == other))
                    .collect::<Vec<_>>(),
            );
        }
        Some(
            found
                .into_iter()
                .filter(|(other, _)| *other != id)
                .map(|(other, title)| (other.to_string(), title))
                .collect(),
        )
    } else {
        None
    };
    let mut files = super::files::section(state, scope, T::KIND, id, view.can_edit, &names).await?;
    let file_refused = shown.file_error.is_some();
    if let Some(files) = &mut files {
        files.error = shown.file_error;
    }
    let (note_body, error) = draft.map_or((String::new(), None), |d| (d.body, Some(d.error)));
    let status = super::super::forms::form_status(error.is_some() || file_refused);
    let facts = fact_rows(record, &names, view.can_edit);
    let page = RecordPage {
        layout: Layout::new(record.title(), page),
        notice: shown.notice,
        undo: shown.undo,
        merge_query: shown.merge_query,
        noun: T::NOUN,
        list: T::KIND.plural(),
        base: path(T::KIND, &id),
        title: record.title(),
        can_edit: view.can_edit,
        avatar: T::AVATAR.then(|| Avatar::of(&record.title())),
        key_facts: key_facts::<T>(&facts),
        facts,
        tags: {
            let colours = state.app.tags().colours(scope).await?;
            record.tags().iter().map(|t| (t.clone(), colours.of(t))).collect()
        },
        sections,
        activity: super::has_activity(T::KIND),
        can_create: scope.can(crate::app::auth::permissions::Action::CreateRecords),
        notes,
        tasks,
        task_fields,
        note_body,
        error,
        open_task,
        subject_kind: T::KIND.as_str(),
        subject_id: id.to_string(),
        timeline,
        merge,
        privacy: T::KIND == Kind::Contact
            && scope.can(crate::app::auth::permissions::Action::EditAllRecords)
            && scope.can(crate::app::auth::permissions::Action::ImportExport),
        files,
        portal: record.portal_link(),
    };
    Ok((status, page).into_response())
}

fn deal_cell(deal: &Deal, names: &Names) -> Cell {
    let amount = super::kinds::deal_amount(deal);
    Cell::link(format!("{} · {} {amount}", deal.name, names.stage(&deal.stage)), path(Kind::Deal, &deal.id))
}

async fn section(
    state: &AppState,
    scope: &TenantScope,
    relation: &Relation,
    names: &Names,
) -> Result<Section, AppError> {
    let app = &state.app;
    Ok(match relation {
        Relation::ContactsOf(id) => {
            let of_company = ParsedFilter { company: Some(*id), ..Default::default() };
            let listing = app.records().list::<Contact>(scope, &ListQuery::first(of_company, 50)).await?;
            let mut items: Vec<Cell> =
                listing.items.iter().map(|c| Cell::link(c.full_name(), path(Kind::Contact, &c.id))).collect();
            if listing.next_cursor.is_some() {
                items.push(Cell::link("All contacts of this company…", format!("/contacts?company={id}")));
            }
            Section { heading: "Contacts", items }
        }
        Relation::DealsOfCompany(id) | Relation::DealsOfContact(id) => {
            let on = match relation {
                Relation::DealsOfCompany(_) => ParsedFilter { company: Some(*id), ..Default::default() },
                _ => ParsedFilter { contact: Some(*id), ..Default::default() },
            };
            let deals = app.records().list::<Deal>(scope, &ListQuery::first(on, 50)).await?.items;
            Section { heading: "Deals", items: deals.iter().map(|d| deal_cell(d, names)).collect() }
        }
        Relation::Contacts(ids) => {
            let titles = app.records().titles::<Contact>(scope, ids.clone()).await?;
            let items = ids
                .iter()
                .filter_map(|id| titles.get(id).map(|name| Cell::link(name.clone(), path(Kind::Contact, id))))
                .collect();
            Section { heading: "Contacts", items }
        }
    })
}

/// The notes (newest first) and tasks attached to a record.
async fn attached(
    state: &AppState,
    scope: &TenantScope,
    kind: Kind,
    id: RecordId,
    names: &Names,
) -> Result<(Vec<NoteView>, Vec<TaskRow>), AppError> {
    let on = ParsedFilter { subject: Some(Subject { kind, id }), ..Default::default() };
    let filter = ListQuery::first(on, 50);
    let notes = state.app.records().list::<Note>(scope, &filter).await?.items;
    let tasks = state.app.records().list::<Task>(scope, &filter).await?.items;
    let ids: Vec<RecordId> = notes.iter().map(|n| n.id).collect();
    let files = state.app.files().list_each::<Note>(scope, &ids).await?;
    let views = notes
        .iter()
        .zip(files)
        .map(|(n, files)| NoteView {
            id: n.id,
            author: names.person(&n.author_id),
            at: n.stamp.created_at,
            html: super::notes::render_markdown(&n.body),
            editable: crate::app::crm::records::may_edit(scope, n),
            files: files.iter().map(|row| super::files::view(row, names)).collect(),
        })
        .collect();
    let tasks = tasks
        .iter()
        .map(|t| TaskRow {
            title: t.title.clone(),
            id: t.id,
            due: t.due.map(|d| d.to_string()).unwrap_or_default(),
            assignee: names.person(&t.assignee_id),
            done: t.done,
        })
        .collect();
    Ok((views, tasks))
}

/// A timeline entry in words: "Olive Owner moved the deal — Lead → Qualified".
fn line(entry: &TimelineView, names: &Names) -> Line {
    if entry.event == TimelineEvent::Portal {
        // Clients are not among the firm's people: the line names them itself.
        let text = format!("Client portal — {}", entry.detail.as_deref().unwrap_or("activity"));
        return Line { at: entry.at, text, link: None };
    }
    let actor = entry.actor.map_or_else(|| "Someone".to_owned(), |a| names.person(&a));
    let what = match entry.event {
        TimelineEvent::Created => "created this",
        TimelineEvent::Updated | TimelineEvent::Other => "changed",
        TimelineEvent::Stage => "moved the deal",
        TimelineEvent::Note => "added a note",
        TimelineEvent::Task => "added a task",
        TimelineEvent::TaskDone => "completed a task",
        TimelineEvent::Merged => "merged in a duplicate",
        TimelineEvent::Portal => "used the client portal",
    };
    let mut text = format!("{actor} {what}");
    if entry.event == TimelineEvent::Updated && !entry.fields.is_empty() {
        text.push_str(&format!(" {}", entry.fields.join(", ").replace('_', " ")));
    }
    if let Some(detail) = &entry.detail {
        text.push_str(&format!(" — {detail}"));
    }
    let link = entry.link.filter(|(kind, _)| *kind != Kind::Note).map(|(kind, id)| path(kind, &id));
    Line { at: entry.at, text, link }
}
