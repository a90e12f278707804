//! Scopes for the offline CLI: whoever runs it can read the data directory, so it acts as
//! the named workspace's first owner, second factor confirmed.

use super::{SecondFactor, TenantScope};
use crate::app::App;
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};

impl App {
    /// A scope in the workspace named `name`, acting as its first owner (E3002 `workspace`
    /// when there is no such workspace or it has no active owner).
    pub(crate) async fn offline_scope(&self, name: &str) -> Result<TenantScope, AppError> {
        let name = name.to_owned();
        let owner = self
            .store()
            .read(move |txn| {
                let Some(workspace) = txn.workspace_by_name(&name)? else { return Ok(None) };
                Ok(txn.users_of(&workspace.id)?.into_iter().find(|u| u.role == Role::Owner && !u.disabled))
            })
            .await?
            .ok_or_else(|| AppError::field(ErrorCode::NotFound, "workspace"))?;
        Ok(TenantScope::new(owner.workspace_id, owner.id, owner.role, SecondFactor::CheckedAt(self.now()), None))
    }
}
