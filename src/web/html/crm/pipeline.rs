//! `/settings/pipeline`: the deal stages, one open stage per line (Won and Lost are fixed);
//! managers and up.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::auth::AuthSession;
use crate::app::auth::permissions::Action;
use crate::domain::crm::StageOutcome;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{AppForm, Authenticated, Client, Page};
use crate::web::html::forms::{FormError, NoticeQuery, form_status, is_refusal, notice};
use crate::web::html::layout::Layout;

#[derive(Template, WebTemplate)]
#[template(path = "settings_pipeline.html")]
struct PipelinePage {
    layout: Layout,
    stages: String,
    notice: Option<&'static str>,
    error: Option<FormError>,
    /// Tags with a chosen colour, and the palette to choose from.
    coloured: Vec<(String, String)>,
    palette: &'static [&'static str],
}

async fn render(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    stages: String,
    notice: Option<&'static str>,
    error: Option<FormError>,
) -> Result<Response, HtmlError> {
    let colours = state.app.tags().colours(&session.scope).await?;
    let coloured = colours.chosen().map(|(t, c)| (t.to_owned(), c.to_owned())).collect();
    let status = form_status(error.is_some());
    let palette = &crate::app::crm::tags::PALETTE;
    let view =
        PipelinePage { layout: Layout::new("Pipeline and tags", page), stages, notice, error, coloured, palette };
    Ok((status, view).into_response())
}

fn require_manager(session: &AuthSession) -> Result<(), HtmlError> {
    session.scope.require(Action::EditAllRecords).map_err(|e| HtmlError::while_doing("edit the pipeline", e))
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    require_manager(&session)?;
    let stages = state.app.pipeline().stages(&session.scope).await?;
    let open: Vec<String> = stages.into_iter().filter(|s| s.outcome == StageOutcome::Open).map(|s| s.label).collect();
    render(&state, &page, &session, open.join("\n"), notice(&query.notice), None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineForm {
    stages: String,
}

pub async fn save(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    AppForm(form): AppForm<PipelineForm>,
) -> Result<Response, HtmlError> {
    match state.app.pipeline().save(&session.scope, &form.stages, &client).await {
        Ok(()) => Ok(Redirect::to("/settings/pipeline?notice=pipeline-saved").into_response()),
        Err(e) if is_refusal(&e) => Err(HtmlError::while_doing("edit the pipeline", e)),
        Err(e) => {
            render(&state, &page, &session, form.stages, None, Some(FormError::new("save the pipeline", &e))).await
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagColourForm {
    tag: String,
    colour: String,
}

/// `POST /settings/tags` (`tag`, `colour`; an empty colour restores the default).
pub async fn save_tag_colour(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    AppForm(form): AppForm<TagColourForm>,
) -> Result<Response, HtmlError> {
    state
        .app
        .tags()
        .set_colour(&session.scope, &form.tag, &form.colour, &client)
        .await
        .map_err(|e| HtmlError::while_doing("colour the tag", e))?;
    Ok(Redirect::to("/settings/pipeline?notice=tag-coloured").into_response())
}
