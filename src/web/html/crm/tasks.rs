//! `/tasks`: my open tasks (or another person's) grouped overdue / today / upcoming / no date,
//! each with its done button; `POST /tasks/{id}/done`.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::kinds::Cell;
use super::values::{Field, Values};
use crate::app::crm::ListFilter;
use crate::domain::crm::{Task, TaskInput};
use crate::domain::fields::Day;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client, Page};
use crate::web::html::forms::{NoticeQuery, notice, with_notice};
use crate::web::html::layout::Layout;
use crate::web::html::safe_next;

/// An open task in a group.
pub struct Item {
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub due: String,
    pub about: Cell,
}

/// "Overdue", "Today", "Upcoming" or "No date", with its tasks.
pub struct Group {
    pub heading: &'static str,
    pub items: Vec<Item>,
}

#[derive(Template, WebTemplate)]
#[template(path = "tasks_mine.html")]
struct TasksPage {
    layout: Layout,
    heading: String,
    filter: Vec<Field>,
    groups: Vec<Group>,
    notice: Option<&'static str>,
    /// The flash's Undo (a task just deleted).
    undo: Option<String>,
    can_create: bool,
}

/// The group of a task due `due` when today is `today`: 0 overdue, 1 today, 2 upcoming, 3 none.
fn group_of(due: Option<Day>, today: Day) -> usize {
    match due {
        Some(d) if d < today => 0,
        Some(d) if d == today => 1,
        Some(_) => 2,
        None => 3,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct MineQuery {
    #[serde(default)]
    assignee: String,
}

pub async fn mine(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    query: Result<Query<MineQuery>, QueryRejection>,
    notice_query: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, HtmlError> {
    let scope = &session.scope;
    let me = scope.user().to_string();
    let chosen = query.map(|Query(q)| q.assignee).ok().filter(|a| !a.trim().is_empty()).unwrap_or(me.clone());
    let filter = ListFilter {
        assignee: chosen.clone(),
        state: "open".into(),
        limit: Some(crate::app::crm::records::MAX_LIMIT),
        ..Default::default()
    };
    let load = async {
        let people = state.app.records().people(scope).await?;
        let tasks = state.app.records().list::<Task>(scope, &filter.parse()?).await?.items;
        Ok::<_, AppError>((people, tasks))
    };
    let (people, tasks) = load.await.map_err(|e| HtmlError::while_doing("list tasks", e))?;
    let subjects = tasks.iter().filter_map(Task::subject).collect();
    let names = super::names(&state, scope, &people, &[], Vec::new(), subjects)
        .await
        .map_err(|e| HtmlError::while_doing("list tasks", e))?;
    let today = Day::of_unix(state.app.now());
    let mut groups = ["Overdue", "Today", "Upcoming", "No date"].map(|heading| Group { heading, items: Vec::new() });
    for task in &tasks {
        groups[group_of(task.due, today)].items.push(Item {
            id: task.id.to_string(),
            title: task.title.clone(),
            kind: task.kind.as_str(),
            due: task.due.map(|d| d.to_string()).unwrap_or_default(),
            about: names.subject(task.subject()),
        });
    }
    let name = people.iter().find(|p| p.id.to_string() == chosen).map(|p| p.name.clone()).unwrap_or_default();
    let heading = if chosen == me { "My tasks".to_owned() } else { format!("Tasks of {name}") };
    let mut values = Values::default();
    values.set("assignee", chosen);
    let options = people.into_iter().map(|p| (p.id.to_string(), p.name));
    let view = TasksPage {
        layout: Layout::new(heading.clone(), &page),
        heading,
        filter: vec![Field::select(&values, "assignee", "Assignee", options, false)],
        groups: groups.into_iter().filter(|g| !g.items.is_empty()).collect(),
        can_create: scope.can(crate::app::auth::permissions::Action::CreateRecords),
        undo: notice_query.as_ref().ok().and_then(|Query(q)| super::undo::offer(&state, scope, &q.undo)),
        notice: notice_query.ok().and_then(|Query(q)| notice(&q.notice)),
    };
    Ok(view.into_response())
}

/// `POST /tasks/{id}/done` (`back`: the local page to return to).
pub async fn done(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    let input = TaskInput { done: Some(true), ..Default::default() };
    state
        .app
        .records()
        .update::<Task>(&session.scope, id, input, &client)
        .await
        .map_err(|e| HtmlError::while_doing("complete the task", e))?;
    let values = Values::parse(&body);
    let back = match values.get("back") {
        "" => "/tasks",
        back => safe_next(back),
    };
    Ok(Redirect::to(&with_notice(back, "task-done")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_fall_in_the_right_group() {
        let day = |s| Day::parse(s, "due").ok();
        let today = Day::parse("2026-11-23", "due").unwrap();
        assert_eq!(group_of(day("2026-11-22"), today), 0);
        assert_eq!(group_of(day("2026-11-23"), today), 1);
        assert_eq!(group_of(day("2027-01-01"), today), 2);
        assert_eq!(group_of(None, today), 3);
    }
}
