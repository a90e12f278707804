//! Notes: added from a record's page, shown there; a note has no page of its own.

use super::{Choices, FormKind, path};
use crate::app::error::AppError;
use crate::domain::crm::{Note, NoteInput};
use crate::web::html::crm::values::{Field, Values};

impl FormKind for Note {
    const NOUN: &'static str = "note";

    fn values(&self) -> Values {
        let mut v = Values::default();
        v.set("body", &self.body);
        v
    }

    fn fields(values: &Values, _choices: &Choices, creating: bool) -> Vec<Field> {
        let mut fields = vec![Field::of_kind(values, "body", "Note (Markdown)", "textarea").required()];
        if creating {
            fields.push(Field::of_kind(values, "subject_kind", "", "hidden"));
            fields.push(Field::of_kind(values, "subject_id", "", "hidden"));
        }
        fields
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
}
