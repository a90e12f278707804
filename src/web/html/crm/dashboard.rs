//! `/` for people who work with records: the dashboard. Charts are inline SVG drawn here (no
//! chart library in the browser): open pipeline by stage, and deals won/lost per month.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::kinds::path;
use crate::app::ViewCache;
use crate::app::auth::TenantScope;
use crate::app::crm::dashboard::{Dashboard, StageTotal};
use crate::app::onboarding::Step;
use crate::domain::crm::{Company, Contact, Deal, Kind, Note, StageOutcome, Task};
use crate::domain::fields::{Currency, Day, Money};
use crate::domain::ids::{RecordId, UserId};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client, Page};
use crate::web::html::empty_state::{EmptyState, empty_state};
use crate::web::html::filters;
use crate::web::html::layout::Layout;

/// A labelled horizontal bar of the pipeline chart (SVG units).
pub struct StageBar {
    pub label: String,
    pub detail: String,
    pub y: u32,
    pub width: u32,
}

/// One month of the won/lost chart.
pub struct MonthBars {
    pub label: String,
    pub x: u32,
    pub won_height: u32,
    pub lost_height: u32,
    pub title: String,
}

pub struct TaskLine {
    pub title: String,
    pub link: String,
    pub due: String,
    pub overdue: bool,
}

pub struct ActivityLine {
    pub at: i64,
    pub who: String,
    pub what: String,
    pub title: String,
    pub link: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    stage_bars: Vec<StageBar>,
    pipeline_total: String,
    chart_height: u32,
    months: Vec<MonthBars>,
    tasks: Vec<TaskLine>,
    recent: Vec<ActivityLine>,
    /// The onboarding checklist (owners and admins of a new firm, until done or dismissed).
    checklist: Option<Vec<Step>>,
    /// No contact at all yet: what contacts are for, and the first steps.
    empty_state: Option<EmptyState>,
}

/// Width of the longest pipeline bar and height of the tallest month bar, in SVG units.
const BAR_MAX: f64 = 300.0;
const MONTH_MAX: f64 = 100.0;

/// The currency with the largest open amount: the pipeline chart's scale.
fn main_currency(stages: &[StageTotal]) -> Option<Currency> {
    let mut totals: Vec<(Currency, Money)> = Vec::new();
    for (currency, money) in stages.iter().flat_map(|s| s.sums.iter()) {
        match totals.iter_mut().find(|(c, _)| c == currency) {
            Some((_, total)) => *total = total.plus(*money),
            None => totals.push((*currency, *money)),
        }
    }
    totals.into_iter().max_by_key(|(_, m)| *m).map(|(c, _)| c)
}

fn amount_in(sums: &[(Currency, Money)], currency: Option<Currency>) -> Money {
    sums.iter().find(|(c, _)| Some(*c) == currency).map_or(Money::zero(), |(_, m)| *m)
}

fn money_text(sums: &[(Currency, Money)]) -> String {
    if sums.is_empty() {
        return "no amounts".into();
    }
    sums.iter().map(|(c, m)| format!("{} {c}", m.grouped())).collect::<Vec<_>>().join(" + ")
}

fn stage_bars(dashboard: &Dashboard) -> (Vec<StageBar>, String) {
    let open: Vec<&StageTotal> = dashboard.stages.iter().filter(|s| s.stage.outcome == StageOutcome::Open).collect();
    let owned: Vec<StageTotal> = open.iter().map(|s| (*s).clone()).collect();
    let currency = main_currency(&owned);
    let largest = open.iter().map(|s| amount_in(&s.sums, currency).approx()).fold(0.0, f64::max);
    let bars = open
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let share = if largest > 0.0 { amount_in(&s.sums, currency).approx() / largest } else { 0.0 };
            StageBar {
                label: s.stage.label.clone(),
                detail: format!("{} deal{} · {}", s.count, if s.count == 1 { "" } else { "s" }, money_text(&s.sums)),
                y: 30 * i as u32,
                width: (share * BAR_MAX).round().max(if s.count > 0 { 2.0 } else { 0.0 }) as u32,
            }
        })
        .collect();
    let mut total: Vec<(Currency, Money)> = Vec::new();
    for (c, m) in open.iter().flat_map(|s| s.sums.iter()) {
        match total.iter_mut().find(|(tc, _)| tc == c) {
            Some((_, t)) => *t = t.plus(*m),
            None => total.push((*c, *m)),
        }
    }
    (bars, money_text(&total))
}

fn month_bars(dashboard: &Dashboard) -> Vec<MonthBars> {
    const NAMES: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let largest = dashboard.months.iter().map(|m| m.won.max(m.lost)).max().unwrap_or(0).max(1) as f64;
    let height = |n: i64| ((n as f64 / largest) * MONTH_MAX).round() as u32;
    dashboard
        .months
        .iter()
        .enumerate()
        .map(|(i, m)| MonthBars {
            label: NAMES[usize::from(m.month.clamp(1, 12)) - 1].to_owned(),
            x: 40 * i as u32,
            won_height: height(m.won),
            lost_height: height(m.lost),
            title: format!(
                "{:04}-{:02}: {} won ({}), {} lost",
                m.year,
                m.month,
                m.won,
                money_text(&m.won_sums),
                m.lost
            ),
        })
        .collect()
}

/// Titles of the records in recent activity (deleted ones have none).
async fn titles(
    state: &AppState,
    scope: &TenantScope,
    dashboard: &Dashboard,
) -> Result<HashMap<RecordId, String>, AppError> {
    let mut titles = HashMap::new();
    for kind in Kind::ALL {
        let ids: Vec<RecordId> = dashboard.recent.iter().filter(|a| a.kind == kind).map(|a| a.id).collect();
        if ids.is_empty() {
            continue;
        }
        titles.extend(match kind {
            Kind::Company => state.app.records().titles::<Company>(scope, ids).await?,
            Kind::Contact => state.app.records().titles::<Contact>(scope, ids).await?,
            Kind::Deal => state.app.records().titles::<Deal>(scope, ids).await?,
            Kind::Note => state.app.records().titles::<Note>(scope, ids).await?,
            Kind::Task => state.app.records().titles::<Task>(scope, ids).await?,
        });
    }
    Ok(titles)
}

/// What the dashboard shows from the store: kept between writes (see [`ViewCache`]) for each
/// person and day (the months and what is overdue follow the date).
pub struct DashboardView {
    dashboard: Dashboard,
    people: HashMap<UserId, String>,
    titles: HashMap<RecordId, String>,
}

/// Kept per person and day (and workspace, as every view is).
pub type DashboardViews = ViewCache<(UserId, Day), DashboardView>;

/// Dashboards kept at most (a few KB each: one per person who opened it today).
pub const DASHBOARDS_KEPT: usize = 256;

async fn dashboard_view(state: &AppState, scope: &TenantScope, today: Day) -> Result<DashboardView, AppError> {
    let dashboard = state.app.reports().dashboard(scope, today).await?;
    let people = state.app.records().people(scope).await?.into_iter().map(|p| (p.id, p.name)).collect();
    let titles = titles(state, scope, &dashboard).await?;
    Ok(DashboardView { dashboard, people, titles })
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
) -> Result<Response, HtmlError> {
    let scope = &session.scope;
    let today = Day::of_unix(state.app.now());
    let compute = async || dashboard_view(&state, scope, today).await;
    let view = state.app.records_view(scope, &state.views.dashboards, (*scope.user(), today), compute).await;
    let view = view.map_err(|e| HtmlError::while_doing("show the dashboard", e))?;
    let DashboardView { dashboard, people, titles } = &*view;
    let (stage_bars, pipeline_total) = stage_bars(dashboard);
    let tasks = dashboard
        .tasks
        .iter()
        .map(|t| TaskLine {
            title: t.title.clone(),
            link: path(Kind::Task, &t.id),
            due: t.due.map(|d| d.to_string()).unwrap_or_default(),
            overdue: t.due.is_some_and(|d| d < today),
        })
        .collect();
    let recent = dashboard
        .recent
        .iter()
        .map(|a| {
            let title = titles.get(&a.id).cloned();
            ActivityLine {
                at: a.at,
                who: a.actor.and_then(|id| people.get(&id).cloned()).unwrap_or_else(|| "Someone".into()),
                what: format!("{} {}", a.verb, a.kind.as_str()),
                link: title.as_ref().map(|_| path(a.kind, &a.id)),
                title: title.unwrap_or_else(|| "(deleted)".into()),
            }
        })
        .collect();
    // The checklist is a help, never a reason for the dashboard to fail.
    let checklist = state.app.onboarding().checklist(scope).await.ok().flatten();
    let empty_state = empty_state(&state, &session, Kind::Contact).await;
    Ok(DashboardPage {
        layout: Layout::new("Dashboard", &page),
        checklist,
        empty_state,
        chart_height: (stage_bars.len() as u32 * 30).max(30),
        stage_bars,
        pipeline_total,
        months: month_bars(dashboard),
        tasks,
        recent,
    }
    .into_response())
}

/// "Dismiss" on the onboarding checklist: hidden for the whole workspace, back to the
/// dashboard.
pub async fn dismiss_onboarding(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(info): Client,
) -> Result<Response, HtmlError> {
    state
        .app
        .onboarding()
        .dismiss(&session.scope, &info)
        .await
        .map_err(|e| HtmlError::while_doing("dismiss the checklist", e))?;
    Ok(axum::response::Redirect::to("/").into_response())
}
