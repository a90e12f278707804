//! Scopes for the offline CLI: whoever runs it can read the data directory, so it acts as
//! the named workspace's most senior active member, second factor confirmed.

use super::{SecondFactor, TenantScope};
use crate::app::App;
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};

/// A scope in the workspace named `name`, acting as its most senior active member (E3002
/// `workspace` when there is no such workspace, E2001 `workspace users` when nobody in
/// it may own records).
pub(crate) async fn offline_scope(app: &App, name: &str) -> Result<TenantScope, AppError> {
    let name = name.to_owned();
    let seniority = |role: Role| Role::ALL.iter().position(|r| *r == role);
    let members = app
        .store()
        .read(move |txn| match txn.workspace_by_name(&name)? {
            Some(workspace) => txn.users_of(&workspace.id).map(Some),
            None => Ok(None),
        })
        .await?
        .ok_or_else(|| AppError::field(ErrorCode::NotFound, "workspace"))?;
    let owner = members
        .into_iter()
        .filter(|u| u.role != Role::Client && !u.disabled)
        .min_by_key(|u| seniority(u.role))
        .ok_or_else(|| AppError::field(ErrorCode::Required, "workspace users"))?;
    Ok(TenantScope::new(owner.workspace_id, owner.id, owner.role, SecondFactor::CheckedAt(app.now()), None))
}
