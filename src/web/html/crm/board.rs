//! `/deals`: the pipeline as a board, one column per stage with its count and sum. Each card
//! moves with a small form (static/app.js adds drag and drop that submits the same form).

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::kinds::{deal_amount, path};
use super::values::Values;
use crate::app::ViewCache;
use crate::app::auth::TenantScope;
use crate::app::auth::permissions::Action;
use crate::app::crm::dashboard::StageTotal;
use crate::app::crm::{ListQuery, ParsedFilter};
use crate::domain::crm::{Deal, DealInput, Kind, Stage};
use crate::domain::fields::{Currency, Money};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client, Page};
use crate::web::html::layout::Layout;

/// A deal on the board.
pub struct Card {
    pub id: String,
    pub name: String,
    pub link: String,
    pub company: String,
    pub amount: String,
    pub stage: String,
}

/// A stage with its cards, how many, and their amounts summed per currency.
pub struct Column {
    pub key: String,
    pub label: String,
    pub cards: Vec<Card>,
    /// Active deals in the stage (all of them, not just the cards shown).
    pub count: i64,
    pub sum: String,
    /// More deals than the board shows.
    pub more: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "deals_board.html")]
struct BoardPage<'a> {
    layout: Layout,
    stages: &'a [Stage],
    columns: &'a [Column],
    can_create: bool,
    /// What was just done ("The record was deleted.").
    notice: Option<&'static str>,
}

/// "12,500.00 EUR + 300.00 USD" (exact sums of the whole stage, one per currency).
fn sum(totals: &[(Currency, Money)]) -> String {
    totals.iter().map(|(c, m)| format!("{} {c}", m.grouped())).collect::<Vec<_>>().join(" + ")
}

/// Cards shown per column; the rest are a click away in the list view.
const CARDS_PER_COLUMN: usize = 25;

async fn column(state: &AppState, scope: &TenantScope, total: &StageTotal) -> Result<Column, AppError> {
    let stage = &total.stage;
    let active = ParsedFilter { stage: Some(stage.key.clone()), closed: Some(false), ..Default::default() };
    let filter = ListQuery::first(active, CARDS_PER_COLUMN);
    let listing = state.app.records().list::<Deal>(scope, &filter).await?;
    let companies = listing.items.iter().filter_map(|d| d.company_id).collect();
    let names = super::names(state, scope, &[], &[], companies, Vec::new()).await?;
    let cards = listing
        .items
        .iter()
        .map(|d| Card {
            id: d.id.to_string(),
            name: d.name.clone(),
            link: path(Kind::Deal, &d.id),
            company: names.company(&d.company_id).text,
            amount: deal_amount(d),
            stage: d.stage.clone(),
        })
        .collect();
    Ok(Column {
        key: stage.key.clone(),
        label: stage.label.clone(),
        cards,
        count: total.count,
        sum: sum(&total.sums),
        more: listing.next_cursor.is_some(),
    })
}

/// What the board shows from the store: kept between writes (see [`ViewCache`]) per workspace.
pub struct BoardView {
    stages: Vec<Stage>,
    columns: Vec<Column>,
}

/// One per workspace (the key every view has).
pub type BoardViews = ViewCache<(), BoardView>;

/// Boards kept at most (one per workspace, ~15 KB each).
pub const BOARDS_KEPT: usize = 64;

async fn board_view(state: &AppState, scope: &TenantScope) -> Result<BoardView, AppError> {
    let totals = state.app.reports().pipeline_totals(scope).await?;
    let mut columns = Vec::new();
    for total in &totals {
        columns.push(column(state, scope, total).await?);
    }
    Ok(BoardView { stages: totals.into_iter().map(|t| t.stage).collect(), columns })
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Query(query): Query<crate::web::html::forms::NoticeQuery>,
) -> Result<Response, HtmlError> {
    let scope = &session.scope;
    let view = state.app.records_view(scope, &state.views.boards, (), async || board_view(&state, scope).await).await;
    let view = view.map_err(|e| HtmlError::while_doing("show the deals", e))?;
    let can_create = scope.can(Action::CreateRecords);
    let notice = crate::web::html::forms::notice(&query.notice);
    let (stages, columns) = (&view.stages, &view.columns);
    Ok(BoardPage { layout: Layout::new("Deals", &page), stages, columns, can_create, notice }.into_response())
}

/// `POST /deals/{id}/move` (`stage`): back to the board.
pub async fn move_deal(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    let stage = Values::parse(&body).get("stage").to_owned();
    let input = DealInput { stage: Some(stage), ..Default::default() };
    state
        .app
        .records()
        .update::<Deal>(&session.scope, id, input, &client)
        .await
        .map_err(|e| HtmlError::while_doing("move the deal", e))?;
    Ok(Redirect::to("/deals?notice=deal-moved").into_response())
}
