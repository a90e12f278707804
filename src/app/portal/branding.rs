//! The firm on its portal: its name (the workspace's) and its logo, an image taken through the
//! files pipeline (recognised by content, scanned, sealed) and filed apart from every record.

use super::Portal;
use crate::app::audit::{AuditEvent, record};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, ClientScope, TenantScope};
use crate::app::files::{DeletedFiles, Download, Intake, LOGO_PLACE};
use crate::domain::crm::Kind;
use crate::error::{AppError, ErrorCode};

/// What a portal page's header shows.
#[derive(Debug, Clone)]
pub struct Branding {
    pub firm: String,
    /// The client's company.
    pub company: String,
    pub logo: bool,
}

impl Portal<'_> {
    /// The firm's name and logo and the client's company, for the portal's header.
    pub fn branding(&self, scope: &ClientScope) -> Result<Branding, AppError> {
        self.store().client(scope).read_now(|txn| {
            let company = txn.company()?.ok_or(ErrorCode::NotFound)?;
            Ok(Branding { firm: txn.firm_name()?, company: company.name, logo: txn.firm_logo()?.is_some() })
        })
    }

    /// Starts the upload of a new logo (owners and admins; PNG, JPEG or WebP).
    pub async fn logo_intake(&self, scope: &TenantScope, name: &str) -> Result<Intake, AppError> {
        self.files().logo_intake(scope, name).await
    }

    /// Whether the firm has a logo (for the settings page).
    pub fn has_logo(&self, scope: &TenantScope) -> Result<bool, AppError> {
        scope.require(Action::ReadRecords)?;
        self.store().workspace(scope).read_now(|txn| Ok(!txn.files_of(Kind::Company, &LOGO_PLACE)?.is_empty()))
    }

    /// The logo, as a member sees it.
    pub fn logo(&self, scope: &TenantScope) -> Result<Download, AppError> {
        scope.require(Action::ReadRecords)?;
        let found = self.store().workspace(scope).read_now(|txn| {
            let Some(row) = txn.files_of(Kind::Company, &LOGO_PLACE)?.into_iter().next() else { return Ok(None) };
            txn.file_with_key(&row.id)
        })?;
        let (row, key) = found.ok_or(ErrorCode::NotFound)?;
        self.files().download(*scope.workspace(), row, &key)
    }

    /// The logo, as a client sees it.
    pub fn client_logo(&self, scope: &ClientScope) -> Result<Download, AppError> {
        let (row, key) = self.store().client(scope).read_now(|txn| txn.firm_logo())?.ok_or(ErrorCode::NotFound)?;
        self.files().download(*scope.workspace(), row, &key)
    }

    /// Removes the logo (audited).
    pub async fn remove_logo(&self, scope: &TenantScope, client: &ClientInfo) -> Result<(), AppError> {
        scope.require(Action::ManageSettings)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        let blobs = self
            .store()
            .workspace(&scope)
            .write(move |txn| {
                let blobs = txn.delete_files_of(Kind::Company, &LOGO_PLACE)?;
                if blobs.is_empty() {
                    return Err(ErrorCode::NotFound.into());
                }
                record(txn, now, AuditEvent::new("portal.logo_removed", Some(*scope.user())).from_client(&client))?;
                Ok(blobs)
            })
            .await?;
        DeletedFiles::of(blobs).remove(self).await;
        Ok(())
    }
}
