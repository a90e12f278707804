//! What a line of a record's timeline says happened. Stored by name (`task-done`), so the
//! names never change; a page says each in words with an exhaustive match.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimelineEvent {
    /// The record was created.
    Created,
    /// Fields changed (their names are on the line, never their values).
    Updated,
    /// A deal moved to another stage.
    Stage,
    /// A note about the record was added.
    Note,
    /// A task about the record was added.
    Task,
    /// A task about the record was completed.
    TaskDone,
    /// A duplicate was merged into the record.
    Merged,
    /// A client did something in the company's portal (uploaded, answered, wrote, acknowledged).
    Portal,
    /// A name this build does not know (written by a newer one): said as a change, so an
    /// old binary still shows the timeline.
    #[serde(other)]
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored names: renaming one would make older timelines unreadable.
    #[test]
    fn stored_names_are_stable() {
        let names = [
            (TimelineEvent::Created, "created"),
            (TimelineEvent::Updated, "updated"),
            (TimelineEvent::Stage, "stage"),
            (TimelineEvent::Note, "note"),
            (TimelineEvent::Task, "task"),
            (TimelineEvent::TaskDone, "task-done"),
            (TimelineEvent::Merged, "merged"),
            (TimelineEvent::Portal, "portal"),
        ];
        for (event, name) in names {
            assert_eq!(serde_json::to_string(&event).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<TimelineEvent>(&format!("\"{name}\"")).unwrap(), event);
        }
        assert_eq!(serde_json::from_str::<TimelineEvent>("\"imported\"").unwrap(), TimelineEvent::Other);
    }
}
