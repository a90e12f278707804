//! How tasks are created, indexed, filtered and checked. Open tasks sort by due date (undated
//! last), so "my tasks" is one prefix scan.

use super::index_terms::{self, Term};
use super::{BulkAction, CrmRecord, ParsedFilter, Plan, Reference, WriteContext};
use crate::app::store::Versioned;
use crate::app::store::crm::Entity;
use crate::domain::crm::{Changes, Kind, Stamp, Subject, Task, TaskInput};
use crate::domain::ids::{RecordId, UserId};
use crate::error::AppError;

impl Versioned for Task {
    const VERSION: u16 = 1;
}

/// Done flag then due day: open tasks first, soonest first, undated last.
fn due_term(term: Term, task: &Task) -> Term {
    term.byte(u8::from(task.done)).number(task.due.map_or(i64::MAX, |d| i64::from(d.ordinal())))
}

fn subject_term(subject: &Subject) -> Term {
    Term::new().byte(subject.kind.byte()).record(&subject.id)
}

impl Entity for Task {
    const KIND: Kind = Kind::Task;

    fn id(&self) -> RecordId {
        self.id
    }

    fn index_terms(&self) -> Vec<(u8, Vec<u8>)> {
        let mut terms = vec![
            (index_terms::ASSIGNEE, due_term(Term::new().user(&self.assignee_id), self).done()),
            (index_terms::DUE, due_term(Term::new(), self).done()),
            (index_terms::NAME, Term::new().byte(u8::from(self.done)).name(&self.title).done()),
            (index_terms::CREATED, Term::new().number(self.stamp.created_at).done()),
        ];
        if let Some(subject) = self.subject() {
            terms.push((index_terms::SUBJECT, due_term(subject_term(&subject), self).done()));
        }
        terms
    }
}

impl CrmRecord for Task {
    type Input = TaskInput;

    fn create(id: RecordId, input: TaskInput, ctx: &WriteContext<'_>) -> Result<(Self, Changes), AppError> {
        Task::create(id, input, ctx.by, ctx.now)
    }

    fn apply(&mut self, input: TaskInput, _ctx: &WriteContext<'_>) -> Result<Changes, AppError> {
        Task::apply(self, input)
    }

    type TitleFields = super::titles::Title;

    fn title(&self) -> String {
        self.title.clone()
    }

    fn editors(&self) -> Vec<UserId> {
        vec![self.assignee_id, self.stamp.created_by]
    }

    fn references(&self) -> Vec<Reference> {
        let mut refs = vec![Reference::User(self.assignee_id, "assignee_id")];
        refs.extend(self.subject().map(|s| Reference::Record(s.kind, s.id, "subject_id")));
        refs
    }

    fn stamp(&self) -> &Stamp {
        &self.stamp
    }

    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.stamp
    }

    fn subject(&self) -> Option<Subject> {
        Task::subject(self)
    }

    fn change_detail(before: &Self, after: &Self, _ctx: &WriteContext<'_>) -> Option<String> {
        (!before.done && after.done).then(|| "Marked done".to_owned())
    }

    fn bulk_input(&self, action: &BulkAction) -> Option<TaskInput> {
        match action {
            BulkAction::Assign(user) => Some(TaskInput { assignee_id: Some(user.to_string()), ..Default::default() }),
            BulkAction::AddTag(_) | BulkAction::Delete => None,
        }
    }

    fn plan(filter: &ParsedFilter) -> Plan {
        if filter.newest_first {
            return Plan::newest();
        }
        let done = |term: Term| match filter.closed {
            Some(closed) => term.byte(u8::from(closed)),
            None => term,
        };
        let (index, term) = if let Some(assignee) = &filter.assignee {
            (index_terms::ASSIGNEE, done(Term::new().user(assignee)).done())
        } else if let Some(subject) = &filter.subject {
            (index_terms::SUBJECT, done(subject_term(subject)).done())
        } else if filter.by_name {
            (index_terms::NAME, done(Term::new()).done())
        } else {
            (index_terms::DUE, done(Term::new()).done())
        };
        Plan { index, term, reverse: false }
    }

    fn matches(&self, f: &ParsedFilter) -> bool {
        f.assignee.is_none_or(|a| a == self.assignee_id)
            && f.subject.is_none_or(|s| Some(s) == self.subject())
            && f.closed.is_none_or(|done| done == self.done)
            && f.created_in_range(self.stamp.created_at)
            && (f.q.trim().is_empty() || self.title.to_lowercase().contains(&f.q.trim().to_lowercase()))
    }
}
