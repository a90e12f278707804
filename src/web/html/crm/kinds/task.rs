//! Tasks on the pages: created from the task form or a record's page (with its subject).

use super::{Cell, Choices, Fact, FormKind, Inline, Names, PageKind, optional_text, path};
use crate::domain::crm::{Kind, Task, TaskInput, TaskKind};
use crate::error::AppError;
use crate::web::html::crm::values::{Field, Picker, Values};

fn kinds() -> impl Iterator<Item = (String, String)> {
    TaskKind::ALL.into_iter().map(|k| (k.as_str().to_owned(), k.as_str().to_owned()))
}

impl FormKind for Task {
    const NOUN: &'static str = "task";
    const INLINE: &'static [Inline] =
        &[Inline::of("Kind", "kind"), Inline::of("Due", "due"), Inline::of("Assignee", "assignee_id")];

    fn values(&self) -> Values {
        let mut v = Values::default();
        v.set("title", &self.title);
        v.set("kind", self.kind.as_str());
        v.set("due", optional_text(&self.due));
        v.set("assignee_id", self.assignee_id.to_string());
        if self.done {
            v.set("done", "on");
        }
        v
    }

    fn fields(values: &Values, choices: &Choices, creating: bool) -> Vec<Field> {
        let mut fields = vec![
            Field::text(values, "title", "Title").required(),
            Field::select(values, "kind", "Kind", kinds(), false),
            Field::of_kind(values, "due", "Due", "date"),
            Field::select(values, "assignee_id", "Assignee", choices.people(), false).picker(Picker::Person),
        ];
        if creating {
            fields.push(Field::of_kind(values, "subject_kind", "", "hidden"));
            fields.push(Field::of_kind(values, "subject_id", "", "hidden"));
        } else {
            fields.push(Field::checkbox(values, "done", "Done"));
        }
        fields
    }

    fn input(values: &Values, creating: bool) -> Result<TaskInput, AppError> {
        Ok(TaskInput {
            title: values.opt("title"),
            kind: values.opt("kind"),
            due: values.opt("due"),
            assignee_id: values.opt("assignee_id"),
            done: (!creating).then(|| values.has("done")),
            subject_kind: creating.then(|| values.get("subject_kind").to_owned()),
            subject_id: creating.then(|| values.get("subject_id").to_owned()),
        })
    }

    /// A task made on a record's page goes back there.
    fn saved_path(&self) -> String {
        match (self.subject_kind, self.subject_id) {
            (Some(kind), Some(id)) => path(kind, &id),
            _ => path(Kind::Task, &self.id),
        }
    }
}

impl PageKind for Task {
    const TITLE: &'static str = "Tasks";
    const FILTERS: &'static [&'static str] = &["assignee", "state"];
    const COLUMNS: &'static [&'static str] = &["Title", "Kind", "Due", "Assignee", "Done", "About"];
    const KEY_FACTS: &'static [&'static str] = &["Due", "Assignee", "About"];
    const SORTS: &'static [(&'static str, &'static str)] = &[("Title", "name"), ("Due", "due")];
    const DEFAULT_SORT: &'static str = "due";

    fn row(&self, names: &Names) -> Vec<Cell> {
        vec![
            Cell::link(&self.title, path(Kind::Task, &self.id)),
            Cell::text(self.kind.as_str()),
            Cell::text(optional_text(&self.due)),
            Cell::text(names.person(&self.assignee_id)),
            Cell::text(if self.done { "yes" } else { "no" }),
            names.subject(self.subject()),
        ]
    }

    fn facts(&self, names: &Names) -> Vec<Fact> {
        vec![
            ("Kind", Cell::text(self.kind.as_str())),
            ("Due", Cell::text(optional_text(&self.due))),
            ("Assignee", Cell::text(names.person(&self.assignee_id))),
            ("Done", Cell::text(if self.done { "yes" } else { "no" })),
            ("About", names.subject(self.subject())),
        ]
    }

    fn open_task(&self) -> bool {
        !self.done
    }
}
