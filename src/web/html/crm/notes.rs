//! Notes: Markdown rendered safely (raw HTML shown as text, then sanitised by ammonia) and
//! the add-note form of a record's page.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use pulldown_cmark::{Event, Options, Parser, html};

use super::kinds::FormKind;
use super::record::{NoteDraft, render};
use super::values::Values;
use crate::domain::crm::{Company, Contact, Deal, Kind, Note, Subject};
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client, Page};
use crate::web::html::forms::{FormError, is_refusal, with_notice};

/// A note's Markdown as HTML. Raw HTML in the text is never passed through: it becomes
/// escaped text, and ammonia removes anything unsafe that remains (links, images' URLs).
pub fn render_markdown(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    ammonia::clean(&out)
}

/// `POST /notes/new` (`subject_kind`, `subject_id`, `body`): back to the subject's page; a
/// refused note shows that page again with the text kept.
pub async fn create(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let values = Values::parse(&body);
    let subject = Subject::parse(values.get("subject_kind"), values.get("subject_id"))
        .map_err(|e| HtmlError::while_doing("add the note", e))?;
    let input = Note::input(&values, true)?;
    let error = match state.app.records().create::<Note>(&session.scope, input, &client).await {
        Ok(note) => {
            return Ok(
                Redirect::to(&format!("{}#notes", with_notice(&note.saved_path(), "note-added"))).into_response()
            );
        }
        Err(e) if is_refusal(&e) => return Err(HtmlError::while_doing("add the note", e)),
        Err(e) => FormError::new("save note", &e),
    };
    let draft = Some(NoteDraft { body: values.get("body").to_owned(), error });
    match subject.kind {
        Kind::Company => render::<Company>(&state, &page, &session, subject.id, draft, Default::default()).await,
        Kind::Contact => render::<Contact>(&state, &page, &session, subject.id, draft, Default::default()).await,
        _ => render::<Deal>(&state, &page, &session, subject.id, draft, Default::default()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::render_markdown;

    #[test]
    fn markdown_is_rendered_and_raw_html_is_not() {
        let html = render_markdown("**bold** <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(!html.contains("<script") && !html.contains("<img"), "{html}");
    }

    #[test]
    fn unsafe_links_are_removed() {
        let html = render_markdown("[x](javascript:alert(1)) [y](https://example.com)");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("https://example.com"), "{html}");
    }
}
