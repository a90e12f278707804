//! Request templates: checklists an owner or admin keeps on the settings page ("Year-end
//! accounts", "New client onboarding") that staff send to a company in one step.

use serde::{Deserialize, Serialize};

use super::Portal;
use crate::app::audit::{AuditEvent, record};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::store::Versioned;
use crate::domain::ids::RecordId;
use crate::domain::portal::{ITEM_TEXT_MAX, ITEMS_MAX, line};
use crate::domain::text::required_line;
use crate::error::{AppError, ErrorCode};

/// Where the templates are kept (a workspace CRM setting).
const SETTING: &str = "portal_templates";
/// Most templates a workspace keeps.
const TEMPLATES_MAX: usize = 100;

/// A named checklist to send as a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestTemplate {
    pub id: RecordId,
    pub name: String,
    pub items: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Templates(Vec<RequestTemplate>);

impl Versioned for Templates {
    const VERSION: u16 = 1;
}

/// A template's items from text, one a line (1–50 lines of at most 500 characters).
pub(super) fn items_of(lines: &[String]) -> Result<Vec<String>, AppError> {
    let items: Vec<String> = lines
        .iter()
        .filter(|text| !text.trim().is_empty())
        .map(|text| required_line(text, ITEM_TEXT_MAX, "items"))
        .collect::<Result<_, _>>()?;
    if items.is_empty() {
        return Err(AppError::field(ErrorCode::Required, "items"));
    }
    if items.len() > ITEMS_MAX {
        return Err(AppError::field(ErrorCode::TooLong, "items")
            .with_hint(format!("A request lists at most {ITEMS_MAX} items.")));
    }
    Ok(items)
}

impl Portal<'_> {
    /// The workspace's request templates, by name.
    pub async fn templates(&self, scope: &TenantScope) -> Result<Vec<RequestTemplate>, AppError> {
        scope.require(Action::ReadRecords)?;
        let stored: Option<Templates> = self.store().workspace(scope).read_now(|txn| txn.setting(SETTING))?;
        let mut templates = stored.unwrap_or_default().0;
        templates.sort_by_key(|t| t.name.to_lowercase());
        Ok(templates)
    }

    /// One template (E3002 for an unknown one).
    pub(super) async fn template(&self, scope: &TenantScope, id: RecordId) -> Result<RequestTemplate, AppError> {
        self.templates(scope)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| AppError::field(ErrorCode::NotFound, "template"))
    }

    /// Adds a template (owners and admins; audited).
    pub async fn add_template(
        &self,
        scope: &TenantScope,
        name: &str,
        lines: &[String],
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        scope.require(Action::ManageSettings)?;
        let template = RequestTemplate { id: RecordId::random(), name: line(name, "name")?, items: items_of(lines)? };
        self.change_templates(scope, client, "portal.template_added", move |templates| {
            if templates.len() >= TEMPLATES_MAX {
                return Err(AppError::field(ErrorCode::TooLong, "name")
                    .with_hint(format!("A workspace keeps at most {TEMPLATES_MAX} templates.")));
            }
            templates.push(template);
            Ok(())
        })
        .await
    }

    /// Deletes a template (owners and admins; audited). Requests made from it stay.
    pub async fn delete_template(
        &self,
        scope: &TenantScope,
        id: RecordId,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        scope.require(Action::ManageSettings)?;
        self.change_templates(scope, client, "portal.template_deleted", move |templates| {
            let before = templates.len();
            templates.retain(|t| t.id != id);
            if templates.len() == before { Err(ErrorCode::NotFound.into()) } else { Ok(()) }
        })
        .await
    }

    async fn change_templates(
        &self,
        scope: &TenantScope,
        client: &ClientInfo,
        event: &'static str,
        change: impl FnOnce(&mut Vec<RequestTemplate>) -> Result<(), AppError> + Send + 'static,
    ) -> Result<(), AppError> {
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let mut templates: Templates = txn.setting(SETTING)?.unwrap_or_default();
                change(&mut templates.0)?;
                txn.save_setting(SETTING, &templates)?;
                record(txn, now, AuditEvent::new(event, Some(*scope.user())).from_client(&client))
            })
            .await
    }
}
