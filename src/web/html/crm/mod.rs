//! The CRM pages: lists, record pages, forms, the deal board, my tasks and the pipeline editor.
//! Every handler is generic over the kind of record (see `kinds`) and calls the same services
//! as the JSON API; every page works without JavaScript.

mod board;
mod bulk;
pub mod dashboard;
mod edit;
mod files;
mod import;
mod io;
mod kinds;
mod list;
mod notes;
mod pipeline;
mod portal;
mod privacy;
mod record;
mod search;
mod tasks;
mod undo;
mod values;

use std::collections::HashMap;

use axum::Router;
use axum::routing::{get, post};

use crate::app::auth::TenantScope;
use crate::app::crm::records::Person;
use crate::app::crm::{ListQuery, ParsedFilter};
use crate::domain::crm::{Company, Contact, Deal, Kind, Note, Stage, Subject, Task};
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::HtmlError;
use kinds::{Choices, Names};

/// Pages kept between writes (see [`crate::app::ViewCache`]).
pub struct PageViews {
    pub lists: list::ListViews,
    pub totals: list::ListTotals,
    pub dashboards: dashboard::DashboardViews,
    pub boards: board::BoardViews,
}

impl Default for PageViews {
    fn default() -> PageViews {
        PageViews {
            lists: list::ListViews::new(list::LIST_VIEWS_KEPT),
            totals: list::ListTotals::new(list::LIST_TOTALS_KEPT),
            dashboards: dashboard::DashboardViews::new(dashboard::DASHBOARDS_KEPT),
            boards: board::BoardViews::new(board::BOARDS_KEPT),
        }
    }
}

/// Every CRM page, by literal path (so a search for `"/contacts/{id}"` finds its handler).
pub fn routes() -> Router<AppState> {
    let upload_limit = || axum::extract::DefaultBodyLimit::max(crate::web::layers::UPLOAD_BODY_LIMIT_BYTES);
    let file_limit = crate::web::layers::file_body_limit;
    Router::new()
        .route("/contacts", get(list::list::<Contact>))
        .route("/contacts/views", post(list::views::save::<Contact>))
        .route("/contacts/views/{id}/delete", post(list::views::delete::<Contact>))
        .route("/contacts/new", get(edit::new_form::<Contact>).post(edit::create::<Contact>))
        .route("/contacts/{id}", get(record::show::<Contact>))
        .route("/contacts/{id}/edit", get(edit::edit_form::<Contact>).post(edit::save::<Contact>))
        .route("/contacts/{id}/delete", post(edit::delete::<Contact>))
        .route("/contacts/{id}/files", post(files::attach::<Contact>).layer(file_limit()))
        .route("/contacts/bulk", post(bulk::apply::<Contact>))
        .route("/contacts/{id}/merge", post(bulk::merge::<Contact>))
        .route("/contacts/export.csv", get(io::export_csv::<Contact>).post(io::export_selected_csv::<Contact>))
        .route("/contacts/export.vcf", post(io::export_vcf))
        .route("/contacts/{id}/vcard", get(io::vcard))
        .route("/contacts/{id}/privacy-export.json", get(privacy::export))
        .route("/contacts/{id}/erase", post(privacy::erase))
        .route("/contacts/import", get(import::start::<Contact>).post(import::upload::<Contact>).layer(upload_limit()))
        .route("/contacts/import/{upload}", get(import::preview::<Contact>))
        .route("/contacts/import/{upload}/check", get(import::check::<Contact>))
        .route("/contacts/import/{upload}/errors.csv", get(import::dry_run_errors::<Contact>))
        .route("/contacts/import/{upload}/commit", post(import::commit::<Contact>))
        .route("/companies", get(list::list::<Company>))
        .route("/companies/views", post(list::views::save::<Company>))
        .route("/companies/views/{id}/delete", post(list::views::delete::<Company>))
        .route("/companies/new", get(edit::new_form::<Company>).post(edit::create::<Company>))
        .route("/companies/{id}", get(record::show::<Company>))
        .route("/companies/{id}/edit", get(edit::edit_form::<Company>).post(edit::save::<Company>))
        .route("/companies/{id}/delete", post(edit::delete::<Company>))
        .route("/companies/{id}/files", post(files::attach::<Company>).layer(file_limit()))
        .route("/companies/bulk", post(bulk::apply::<Company>))
        .route("/companies/{id}/merge", post(bulk::merge::<Company>))
        .route("/companies/export.csv", get(io::export_csv::<Company>).post(io::export_selected_csv::<Company>))
        .route("/companies/import", get(import::start::<Company>).post(import::upload::<Company>).layer(upload_limit()))
        .route("/companies/import/{upload}", get(import::preview::<Company>))
        .route("/companies/import/{upload}/check", get(import::check::<Company>))
        .route("/companies/import/{upload}/errors.csv", get(import::dry_run_errors::<Company>))
        .route("/companies/import/{upload}/commit", post(import::commit::<Company>))
        .route("/imports/{id}", get(import::result))
        .route("/imports/{id}/errors.csv", get(import::result_errors))
        .route("/imports/{id}/revert", post(import::revert))
        .route("/deals", get(board::show))
        .route("/deals/list", get(list::list::<Deal>))
        .route("/deals/views", post(list::views::save::<Deal>))
        .route("/deals/views/{id}/delete", post(list::views::delete::<Deal>))
        .route("/deals/new", get(edit::new_form::<Deal>).post(edit::create::<Deal>))
        .route("/deals/{id}", get(record::show::<Deal>))
        .route("/deals/{id}/edit", get(edit::edit_form::<Deal>).post(edit::save::<Deal>))
        .route("/deals/{id}/delete", post(edit::delete::<Deal>))
        .route("/deals/{id}/files", post(files::attach::<Deal>).layer(file_limit()))
        .route("/deals/{id}/move", post(board::move_deal))
        .route("/deals/bulk", post(bulk::apply::<Deal>))
        .route("/deals/export.csv", get(io::export_csv::<Deal>).post(io::export_selected_csv::<Deal>))
        .route("/tasks", get(tasks::mine))
        .route("/tasks/list", get(list::list::<Task>))
        .route("/tasks/views", post(list::views::save::<Task>))
        .route("/tasks/views/{id}/delete", post(list::views::delete::<Task>))
        .route("/tasks/new", get(edit::new_form::<Task>).post(edit::create::<Task>))
        .route("/tasks/{id}", get(record::show::<Task>))
        .route("/tasks/{id}/edit", get(edit::edit_form::<Task>).post(edit::save::<Task>))
        .route("/tasks/{id}/delete", post(undo::delete::<Task>))
        .route("/tasks/{id}/restore", post(undo::restore::<Task>))
        .route("/tasks/{id}/done", post(tasks::done))
        .route("/tasks/bulk", post(bulk::apply::<Task>))
        .route("/companies/{id}/portal", get(portal::show))
        .route("/companies/{id}/portal/invite", post(portal::invite))
        .route("/companies/{id}/portal/clients/{user}/disable", post(portal::disable_client))
        .route("/companies/{id}/portal/clients/{user}/enable", post(portal::enable_client))
        .route("/companies/{id}/portal/share", post(portal::share))
        .route("/companies/{id}/portal/documents/{file}/unshare", post(portal::unshare))
        .route("/companies/{id}/portal/requests", post(portal::create_request))
        .route("/companies/{id}/portal/requests/{request}/items/{item}", post(portal::review))
        .route("/companies/{id}/portal/messages", post(portal::post_message))
        .route("/client-activity", get(portal::activity))
        .route("/files/{id}", get(files::open))
        .route("/files/{id}/delete", post(files::delete))
        .route("/notes/new", post(notes::create))
        .route("/notes/{id}/edit", get(edit::edit_form::<Note>).post(edit::save::<Note>))
        .route("/notes/{id}/delete", post(undo::delete::<Note>))
        .route("/notes/{id}/restore", post(undo::restore::<Note>))
        .route("/settings/pipeline", get(pipeline::show).post(pipeline::save))
        .route("/settings/tags", post(pipeline::save_tag_colour))
        .route("/search", get(search::page))
        .route("/search/suggest", get(search::suggest))
}

/// A record id from the path; anything else is "not found".
fn parse_id(id: &str) -> Result<RecordId, HtmlError> {
    id.parse().map_err(|_| HtmlError::from(ErrorCode::NotFound))
}

/// Up to `limit` records of a kind, for selects.
fn few(limit: usize) -> ListQuery {
    ListQuery::first(ParsedFilter::default(), limit)
}

/// Names of `people` and `stages` (as the page already read them), and of the companies in
/// `company_ids` and the `subjects` of notes and tasks (read here).
async fn names(
    state: &AppState,
    scope: &TenantScope,
    people: &[Person],
    stages: &[Stage],
    mut company_ids: Vec<RecordId>,
    subjects: Vec<Subject>,
) -> Result<Names, AppError> {
    let people = people.iter().map(|p| (p.id, p.name.clone())).collect();
    let stages = stages.iter().map(|s| (s.key.clone(), s.label.clone())).collect();
    // Companies tasks are about are read with the other companies.
    company_ids.extend(subjects.iter().filter(|s| s.kind == Kind::Company).map(|s| s.id));
    company_ids.sort_by_key(|id| *id.as_bytes());
    company_ids.dedup();
    let companies = if company_ids.is_empty() {
        HashMap::new()
    } else {
        state.app.records().titles::<Company>(scope, company_ids).await?
    };
    let subjects = subject_titles(state, scope, subjects).await?;
    Ok(Names { people, companies, subjects, stages })
}

/// The titles of the contacts and deals tasks are about (companies are read with the others).
async fn subject_titles(
    state: &AppState,
    scope: &TenantScope,
    subjects: Vec<Subject>,
) -> Result<HashMap<RecordId, String>, AppError> {
    let of = |kind: Kind| subjects.iter().filter(|s| s.kind == kind).map(|s| s.id).collect::<Vec<_>>();
    let (contacts, deals) = (of(Kind::Contact), of(Kind::Deal));
    let mut titles = HashMap::new();
    if !contacts.is_empty() {
        titles.extend(state.app.records().titles::<Contact>(scope, contacts).await?);
    }
    if !deals.is_empty() {
        titles.extend(state.app.records().titles::<Deal>(scope, deals).await?);
    }
    Ok(titles)
}

/// What the selects of a kind's form offer.
async fn choices(state: &AppState, scope: &TenantScope, kind: Kind) -> Result<Choices, AppError> {
    let mut choices = Choices { people: state.app.records().people(scope).await?, ..Default::default() };
    if matches!(kind, Kind::Contact | Kind::Deal) {
        let companies = state.app.records().list::<Company>(scope, &few(200)).await?.items;
        choices.companies = companies.into_iter().map(|c| (c.id, c.name)).collect();
    }
    if kind == Kind::Deal {
        let contacts = state.app.records().list::<Contact>(scope, &few(200)).await?.items;
        choices.contacts = contacts.iter().map(|c| (c.id, c.full_name())).collect();
        choices.stages = state.app.pipeline().stages(scope).await?;
    }
    Ok(choices)
}

/// Whether a kind has notes and tasks attached (companies, contacts, deals).
fn has_activity(kind: Kind) -> bool {
    matches!(kind, Kind::Company | Kind::Contact | Kind::Deal)
}
