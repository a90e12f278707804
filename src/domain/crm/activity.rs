//! Notes and tasks: what happened and what is to do, attached to a contact, company or deal.

use serde::{Deserialize, Serialize};

use super::{Changes, Stamp, Subject, optional, user_id};
use crate::domain::fields::{Day, LINE_MAX, TEXT_MAX, multiline};
use crate::domain::ids::{RecordId, UserId};
use crate::domain::text::required_line;
use crate::error::{AppError, ErrorCode};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Note {
    pub id: RecordId,
    /// Markdown; rendered with raw HTML off and then sanitised.
    pub body: String,
    pub subject_kind: super::Kind,
    pub subject_id: RecordId,
    pub author_id: UserId,
    #[serde(flatten)]
    pub stamp: Stamp,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    pub body: Option<String>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
}

impl Note {
    pub fn create(id: RecordId, input: NoteInput, by: UserId, now: i64) -> Result<(Note, Changes), AppError> {
        let subject = Subject::parse(
            input.subject_kind.as_deref().unwrap_or_default(),
            input.subject_id.as_deref().unwrap_or_default(),
        )?;
        let mut note = Note {
            id,
            body: String::new(),
            subject_kind: subject.kind,
            subject_id: subject.id,
            author_id: by,
            stamp: Stamp { created_at: now, created_by: by, updated_at: now },
        };
        let changes = note.apply(NoteInput { body: input.body, ..Default::default() })?;
        if note.body.is_empty() {
            return Err(AppError::field(ErrorCode::Required, "body"));
        }
        Ok((note, changes))
    }

    /// Only the body changes; a note stays on its subject.
    pub fn apply(&mut self, input: NoteInput) -> Result<Changes, AppError> {
        let mut changes = Changes::default();
        if input.subject_kind.is_some() || input.subject_id.is_some() {
            return Err(AppError::field(ErrorCode::InvalidFormat, "subject_id"));
        }
        if let Some(v) = input.body {
            let body = multiline(&v, TEXT_MAX, "body")?;
            if body.is_empty() {
                return Err(AppError::field(ErrorCode::Required, "body"));
            }
            changes.set(&mut self.body, body, "body");
        }
        Ok(changes)
    }

    pub fn subject(&self) -> Subject {
        Subject { kind: self.subject_kind, id: self.subject_id }
    }
}

/// What sort of task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    Todo,
    Call,
    Email,
    Meeting,
}

impl TaskKind {
    pub const ALL: [TaskKind; 4] = [TaskKind::Todo, TaskKind::Call, TaskKind::Email, TaskKind::Meeting];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Todo => "todo",
            TaskKind::Call => "call",
            TaskKind::Email => "email",
            TaskKind::Meeting => "meeting",
        }
    }

    pub fn parse(input: &str) -> Result<TaskKind, AppError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == input.trim().to_lowercase())
            .ok_or_else(|| AppError::field(ErrorCode::InvalidFormat, "kind"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub id: RecordId,
    pub title: String,
    pub kind: TaskKind,
    pub due: Option<Day>,
    pub assignee_id: UserId,
    pub done: bool,
    pub subject_kind: Option<super::Kind>,
    pub subject_id: Option<RecordId>,
    #[serde(flatten)]
    pub stamp: Stamp,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub title: Option<String>,
    pub kind: Option<String>,
    pub due: Option<String>,
    pub assignee_id: Option<String>,
    pub done: Option<bool>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
}

impl Task {
    /// A new task, assigned to its creator unless the input says otherwise; the subject is
    /// optional (a task can stand alone).
    pub fn create(id: RecordId, input: TaskInput, by: UserId, now: i64) -> Result<(Task, Changes), AppError> {
        if input.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(AppError::field(ErrorCode::Required, "title"));
        }
        let subject = match (input.subject_kind.as_deref(), input.subject_id.as_deref()) {
            (Some(kind), Some(id)) if !kind.trim().is_empty() || !id.trim().is_empty() => {
                Some(Subject::parse(kind, id)?)
            }
            (Some(k), None) if !k.trim().is_empty() => return Err(AppError::field(ErrorCode::Required, "subject_id")),
            (None, Some(i)) if !i.trim().is_empty() => {
                return Err(AppError::field(ErrorCode::Required, "subject_kind"));
            }
            _ => None,
        };
        let mut task = Task {
            id,
            title: String::new(),
            kind: TaskKind::Todo,
            due: None,
            assignee_id: by,
            done: false,
            subject_kind: subject.map(|s| s.kind),
            subject_id: subject.map(|s| s.id),
            stamp: Stamp { created_at: now, created_by: by, updated_at: now },
        };
        let changes = task.apply(TaskInput { subject_kind: None, subject_id: None, ..input })?;
        Ok((task, changes))
    }

    /// Applies `input`, all or nothing; the subject can't move.
    pub fn apply(&mut self, input: TaskInput) -> Result<Changes, AppError> {
        if input.subject_kind.is_some() || input.subject_id.is_some() {
            return Err(AppError::field(ErrorCode::InvalidFormat, "subject_id"));
        }
        let mut next = self.clone();
        let mut changes = Changes::default();
        if let Some(v) = input.title {
            changes.set(&mut next.title, required_line(&v, LINE_MAX, "title")?, "title");
        }
        if let Some(v) = input.kind {
            changes.set(&mut next.kind, TaskKind::parse(&v)?, "kind");
        }
        if let Some(v) = input.due {
            changes.set(&mut next.due, optional(&v, |s| Day::parse(s, "due"))?, "due");
        }
        if let Some(v) = input.assignee_id {
            let who = user_id(&v, "assignee_id")?.ok_or_else(|| AppError::field(ErrorCode::Required, "assignee_id"))?;
            changes.set(&mut next.assignee_id, who, "assignee_id");
        }
        if let Some(v) = input.done {
            changes.set(&mut next.done, v, "done");
        }
        *self = next;
        Ok(changes)
    }

    pub fn subject(&self) -> Option<Subject> {
        Some(Subject { kind: self.subject_kind?, id: self.subject_id? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_need_a_body_and_a_subject() {
        let by = UserId::random();
        let subject = RecordId::random().to_string();
        let ok = NoteInput {
            body: Some("Met **Ada**".into()),
            subject_kind: Some("contact".into()),
            subject_id: Some(subject.clone()),
        };
        assert!(Note::create(RecordId::random(), ok, by, 1).is_ok());
        let empty =
            NoteInput { body: Some("  ".into()), subject_kind: Some("contact".into()), subject_id: Some(subject) };
        assert_eq!(Note::create(RecordId::random(), empty, by, 1).unwrap_err().code(), ErrorCode::Required);
        let task_subject = NoteInput {
            body: Some("x".into()),
            subject_kind: Some("task".into()),
            subject_id: Some(RecordId::random().to_string()),
        };
        assert_eq!(
            Note::create(RecordId::random(), task_subject, by, 1).unwrap_err().field_name(),
            Some("subject_kind")
        );
    }

    #[test]
    fn tasks_default_to_their_creator() {
        let by = UserId::random();
        let input = TaskInput {
            title: Some("Call back".into()),
            kind: Some("call".into()),
            due: Some("2026-12-01".into()),
            ..Default::default()
        };
        let (task, _) = Task::create(RecordId::random(), input, by, 1).unwrap();
        assert_eq!((task.assignee_id, task.kind, task.subject()), (by, TaskKind::Call, None));
    }
}
