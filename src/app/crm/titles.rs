//! Record titles read straight from stored JSON: each kind names the few fields its title is
//! made of, so lists and record pages show the names of related records without decoding
//! (or opening the sealed fields of) whole records.

use redb::ReadableTable;
use serde::Deserialize;

use super::CrmRecord;
use crate::app::store::crm::RecordsTable;
use crate::domain::crm::person_name;
use crate::domain::ids::RecordId;
use crate::error::AppError;

/// The title of one stored record, read from its title fields alone (`None`
/// when there is no such record).
pub(crate) fn stored_title<T: CrmRecord>(
    records: &RecordsTable<'_, impl ReadableTable<&'static [u8], &'static [u8]>>,
    id: &RecordId,
) -> Result<Option<String>, AppError> {
    Ok(records.load_fields::<T, T::TitleFields>(id)?.map(Into::into))
}

/// A `name` field (companies, deals).
#[derive(Deserialize)]
pub struct Name {
    name: String,
}

impl From<Name> for String {
    fn from(fields: Name) -> String {
        fields.name
    }
}

/// A `title` field (tasks).
#[derive(Deserialize)]
pub struct Title {
    title: String,
}

impl From<Title> for String {
    fn from(fields: Title) -> String {
        fields.title
    }
}

/// A contact's first and last names.
#[derive(Deserialize)]
pub struct PersonName {
    first_name: String,
    last_name: String,
}

impl From<PersonName> for String {
    fn from(fields: PersonName) -> String {
        person_name(&fields.first_name, &fields.last_name)
    }
}

/// A note's body (its title is the first line).
#[derive(Deserialize)]
pub struct NoteBody {
    body: String,
}

impl From<NoteBody> for String {
    fn from(fields: NoteBody) -> String {
        note_title(&fields.body)
    }
}

/// A note's Markdown as the plain text a reader sees (`**Call**` → `Call`), one line per block:
/// for titles, timelines and search snippets.
pub fn note_text(body: &str) -> String {
    use pulldown_cmark::{Event, Parser, TagEnd};
    let mut text = String::with_capacity(body.len());
    for event in Parser::new(body) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push('\n'),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock) => text.push('\n'),
            _ => {}
        }
    }
    text.trim().to_owned()
}

/// The first line of a note as plain text, cut at 80 characters.
pub fn note_title(body: &str) -> String {
    let text = note_text(body);
    let first = text.lines().next().unwrap_or_default().trim();
    let mut title: String = first.chars().take(80).collect();
    if first.chars().count() > 80 {
        title.push('…');
    }
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title<F: serde::de::DeserializeOwned + Into<String>>(json: &str) -> String {
        serde_json::from_str::<F>(json).unwrap().into()
    }

    #[test]
    fn notes_read_as_plain_text() {
        assert_eq!(note_title("## **Call summary**: spring\nmore"), "Call summary: spring");
        assert_eq!(note_text("- one\n- `two`\n\n[link](https://x.example)"), "one\ntwo\nlink");
    }

    #[test]
    fn titles_come_from_their_fields_alone() {
        let contact = r#"{"first_name":"Ada","last_name":"Lovelace","tax_id":"c2VhbGVk","phones":"c2VhbGVk"}"#;
        assert_eq!(title::<PersonName>(contact), "Ada Lovelace");
        assert_eq!(title::<PersonName>(r#"{"first_name":"","last_name":"Byron"}"#), "Byron");
        assert_eq!(title::<Name>(r#"{"id":"x","name":"Initech","address":"c2VhbGVk"}"#), "Initech");
        assert_eq!(title::<NoteBody>("{\"body\":\"## Call notes\\nsecond line\"}"), "Call notes");
        assert_eq!(note_title(&"x".repeat(90)).chars().count(), 81);
    }
}
