//! How notes are created, indexed, filtered and checked.

use super::index_terms::{self, Term};
use super::{CrmRecord, ParsedFilter, Plan, Reference, WriteContext};
use crate::app::store::Versioned;
use crate::app::store::crm::Entity;
use crate::domain::crm::{Changes, Kind, Note, NoteInput, Stamp, Subject};
use crate::domain::ids::{RecordId, UserId};
use crate::error::AppError;

impl Versioned for Note {
    const VERSION: u16 = 1;
}

fn subject_term(subject: &Subject) -> Term {
    Term::new().byte(subject.kind.byte()).record(&subject.id)
}

impl Entity for Note {
    const KIND: Kind = Kind::Note;

    fn id(&self) -> RecordId {
        self.id
    }

    fn index_terms(&self) -> Vec<(u8, Vec<u8>)> {
        vec![
            (index_terms::SUBJECT, subject_term(&self.subject()).number(self.stamp.created_at).done()),
            (index_terms::CREATED, Term::new().number(self.stamp.created_at).done()),
        ]
    }
}

impl CrmRecord for Note {
    type Input = NoteInput;

    fn create(id: RecordId, input: NoteInput, ctx: &WriteContext<'_>) -> Result<(Self, Changes), AppError> {
        Note::create(id, input, ctx.by, ctx.now)
    }

    fn apply(&mut self, input: NoteInput, _ctx: &WriteContext<'_>) -> Result<Changes, AppError> {
        Note::apply(self, input)
    }

    type TitleFields = super::titles::NoteBody;

    fn title(&self) -> String {
        super::titles::note_title(&self.body)
    }

    fn editors(&self) -> Vec<UserId> {
        vec![self.author_id]
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference::Record(self.subject_kind, self.subject_id, "subject_id")]
    }

    fn stamp(&self) -> &Stamp {
        &self.stamp
    }

    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.stamp
    }

    fn subject(&self) -> Option<Subject> {
        Some(Note::subject(self))
    }

    fn plan(filter: &ParsedFilter) -> Plan {
        match &filter.subject {
            Some(subject) => Plan { index: index_terms::SUBJECT, term: subject_term(subject).done(), reverse: true },
            None => Plan { index: index_terms::CREATED, term: Vec::new(), reverse: true },
        }
    }

    fn matches(&self, f: &ParsedFilter) -> bool {
        f.subject.is_none_or(|s| s == Note::subject(self))
            && f.created_in_range(self.stamp.created_at)
            && (f.q.trim().is_empty() || self.body.to_lowercase().contains(&f.q.trim().to_lowercase()))
    }
}
