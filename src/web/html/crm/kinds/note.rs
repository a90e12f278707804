//! Notes: added from a record's page, shown there; a note has no page of its own.

use super::{Choices, FormKind, path};
use crate::domain::crm::{Note, NoteInput, Subject};
use crate::domain::ids::RecordId;
use crate::error::AppError;
use crate::web::html::crm::values::{Field, Values};

impl FormKind for Note {
    const NOUN: &'static str = "note";

    fn values(&self) -> Values {
        let mut v = Values::default();
        v.set("body", &self.body);
        v.set("subject_kind", self.subject_kind.as_str());
        v.set("subject_id", self.subject_id.to_string());
        v
    }

    /// The subject goes along even when editing (for Cancel); only a new note takes it.
    fn fields(values: &Values, _choices: &Choices, _creating: bool) -> Vec<Field> {
        vec![
            Field::of_kind(values, "body", "Note (Markdown)", "textarea").required(),
            Field::of_kind(values, "subject_kind", "", "hidden"),
            Field::of_kind(values, "subject_id", "", "hidden"),
        ]
    }

    fn input(values: &Values, creating: bool) -> Result<NoteInput, AppError> {
        Ok(NoteInput {
            body: values.opt("body"),
            subject_kind: creating.then(|| values.get("subject_kind").to_owned()),
            subject_id: creating.then(|| values.get("subject_id").to_owned()),
        })
    }

    /// A note is shown on its subject's page.
    fn saved_path(&self) -> String {
        path(self.subject_kind, &self.subject_id)
    }

    fn cancel_path(_id: &RecordId, values: &Values) -> String {
        match Subject::parse(values.get("subject_kind"), values.get("subject_id")) {
            Ok(subject) => path(subject.kind, &subject.id),
            Err(_) => "/".to_owned(),
        }
    }
}
