//! Empty states that teach: when the workspace holds no record of a kind at all (not "nothing
//! matches the filter"), a list or a section says what the kind is for and offers the first
//! steps the viewer may take. Rendered by `templates/empty_state.html`, which reads a field
//! named `empty_state: Option<EmptyState>` of the including page.

use crate::app::auth::AuthSession;
use crate::app::auth::permissions::Action;
use crate::domain::crm::Kind;
use crate::web::AppState;

/// One offered first step.
#[derive(Debug, Clone)]
pub struct FirstStep {
    pub href: &'static str,
    pub label: &'static str,
}

/// What an empty kind's page shows.
#[derive(Debug, Clone)]
pub struct EmptyState {
    /// "No contacts yet".
    pub heading: String,
    /// What the kind is for.
    pub purpose: &'static str,
    /// The first steps the viewer may take (none: read-only viewers).
    pub steps: Vec<FirstStep>,
}

impl EmptyState {
    /// The empty state of `kind`, whatever the workspace holds (see [`empty_state`]).
    pub fn of(kind: Kind, session: &AuthSession) -> EmptyState {
        let creates = session.scope.can(Action::CreateRecords);
        let imports = session.scope.can(Action::ImportExport);
        let purpose = match kind {
            Kind::Contact => {
                "Contacts are the people you work with: their email addresses, phone numbers, company, notes and tasks in one place."
            }
            Kind::Company => {
                "Companies group the contacts who work there, with their deals and the firm's client portal."
            }
            Kind::Deal => {
                "Deals follow a piece of work you hope to win, stage by stage, with its amount and expected close."
            }
            Kind::Task => "Tasks are the calls, emails and to-dos you owe, each with a due date and a person assigned.",
            Kind::Note => "Notes keep what was said and decided, on the record it concerns.",
        };
        let mut steps = Vec::new();
        let step = |href, label| FirstStep { href, label };
        match kind {
            Kind::Contact => {
                if creates {
                    steps.push(step("/contacts/new", "Add a contact"));
                }
                if imports {
                    steps.push(step("/contacts/import", "Import a CSV"));
                }
            }
            Kind::Company => {
                if creates {
                    steps.push(step("/companies/new", "Add a company"));
                }
                if imports {
                    steps.push(step("/companies/import", "Import a CSV"));
                }
            }
            Kind::Deal if creates => steps.push(step("/deals/new", "Add a deal")),
            Kind::Task if creates => steps.push(step("/tasks/new", "Add a task")),
            _ => {}
        }
        EmptyState { heading: format!("No {} yet", kind.plural()), purpose, steps }
    }
}

/// The empty state of `kind`'s list: `Some` only when the workspace holds no record of that
/// kind at all (a filter matching nothing gets `None`: the list's own "no matches" stays).
/// Errors count as "not empty" (the page shows its usual list).
pub async fn empty_state(state: &AppState, session: &AuthSession, kind: Kind) -> Option<EmptyState> {
    match state.app.onboarding().none_of(&session.scope, kind).await {
        Ok(true) => Some(EmptyState::of(kind, session)),
        _ => None,
    }
}
