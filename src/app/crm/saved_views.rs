//! Saved list views: a name and a list's query (filters, order, columns), kept for their
//! author or shared with the workspace (shared ones made and removed by managers and up).

use serde::{Deserialize, Serialize};

use super::ListFilter;
use super::records::Records;
use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::store::codec::Versioned;
use crate::domain::crm::Kind;
use crate::domain::ids::{UserId, ViewId};
use crate::error::{AppError, ErrorCode};

/// A view's name, at most this many characters.
pub const NAME_MAX: usize = 60;
/// Views one person may have made (personal and shared together).
pub const VIEWS_PER_USER: usize = 20;
/// The query of a view, at most this many bytes.
const QUERY_MAX: usize = 2_000;
/// Where the workspace's views are kept (one CRM setting: a handful per person).
const SETTING: &str = "saved_views";

/// One saved view of a kind's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedView {
    pub id: ViewId,
    pub kind: Kind,
    pub name: String,
    /// The list's query string (no cursor or page: a view opens at its first page).
    pub query: String,
    pub author: UserId,
    pub shared: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SavedViews(Vec<SavedView>);

impl Versioned for SavedViews {
    const VERSION: u16 = 1;
}

/// What saving a view asks for.
pub struct NewView {
    pub kind: Kind,
    pub name: String,
    /// The list's query string; its filters must parse (columns are checked by the page,
    /// which knows each kind's columns).
    pub query: String,
    pub shared: bool,
}

impl SavedView {
    /// Whether `scope` sees it: its author, or anyone when shared.
    pub fn visible_to(&self, scope: &TenantScope) -> bool {
        self.shared || self.author == *scope.user()
    }

    /// Whether `scope` may delete it: its author (personal), a manager and up (shared).
    pub fn deletable_by(&self, scope: &TenantScope) -> bool {
        if self.shared { scope.can(Action::EditAllRecords) } else { self.author == *scope.user() }
    }
}

/// The query kept: the filters' own pairs, without where a page starts.
fn kept_query(query: &str) -> Result<String, AppError> {
    if query.len() > QUERY_MAX {
        return Err(AppError::field(ErrorCode::TooLong, "query"));
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(n, v)| !matches!(n.as_ref(), "cursor" | "before" | "page" | "limit" | "notice") && !v.is_empty())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let mut kept = form_urlencoded::Serializer::new(String::new());
    kept.extend_pairs(&pairs);
    let kept = kept.finish();
    // The filters must parse as a list's would (other names, the columns, are left to the page).
    let fields = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
        pairs.iter().filter(|(n, _)| n != "cols").map(|(n, v)| (n.as_str(), v.as_str())),
    );
    let filter = ListFilter::deserialize(fields).map_err(|_| AppError::field(ErrorCode::InvalidFormat, "query"))?;
    filter.parse()?;
    Ok(kept)
}

impl Records<'_> {
    /// The views of `kind`'s list the caller sees: shared ones, then their own, by name.
    pub async fn saved_views(&self, scope: &TenantScope, kind: Kind) -> Result<Vec<SavedView>, AppError> {
        scope.require(Action::ReadRecords)?;
        let stored: Option<SavedViews> = self.store().workspace(scope).read_now(|txn| txn.setting(SETTING))?;
        let mut views: Vec<SavedView> =
            stored.unwrap_or_default().0.into_iter().filter(|v| v.kind == kind && v.visible_to(scope)).collect();
        views.sort_by_key(|v| (!v.shared, v.name.to_lowercase()));
        Ok(views)
    }

    /// Saves a view (a shared one needs a manager and up), audited.
    pub async fn save_view(
        &self,
        scope: &TenantScope,
        new: NewView,
        client: &ClientInfo,
    ) -> Result<SavedView, AppError> {
        scope.require(Action::ReadRecords)?;
        if new.shared {
            scope.require(Action::EditAllRecords)?;
        }
        let name = new.name.trim().to_owned();
        if name.is_empty() {
            return Err(AppError::field(ErrorCode::Required, "name"));
        }
        if name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
            return Err(AppError::field(ErrorCode::TooLong, "name"));
        }
        let view = SavedView {
            id: ViewId::random(),
            kind: new.kind,
            name,
            query: kept_query(&new.query)?,
            author: *scope.user(),
            shared: new.shared,
        };
        let (scope, client, now, saved) = (scope.clone(), client.clone(), self.now(), view.clone());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let mut views: SavedViews = txn.setting(SETTING)?.unwrap_or_default();
                if views.0.iter().filter(|v| v.author == *scope.user()).count() >= VIEWS_PER_USER {
                    return Err(AppError::field(ErrorCode::InvalidFormat, "views"));
                }
                views.0.push(saved);
                txn.save_setting(SETTING, &views)?;
                let event = AuditEvent::new("list_view.saved", Some(*scope.user())).target(format!("view:{}", view.id));
                audit(txn, now, event.fields(&["name", "query", "shared"]).from_client(&client))
            })
            .await?;
        Ok(view)
    }

    /// Deletes a view the caller may delete (one they can't see is not found), audited.
    pub async fn delete_view(&self, scope: &TenantScope, id: ViewId, client: &ClientInfo) -> Result<Kind, AppError> {
        scope.require(Action::ReadRecords)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let mut views: SavedViews = txn.setting(SETTING)?.unwrap_or_default();
                let at = views.0.iter().position(|v| v.id == id && v.visible_to(&scope)).ok_or(ErrorCode::NotFound)?;
                if !views.0[at].deletable_by(&scope) {
                    return Err(ErrorCode::Forbidden.into());
                }
                let kind = views.0.remove(at).kind;
                txn.save_setting(SETTING, &views)?;
                let event = AuditEvent::new("list_view.deleted", Some(*scope.user())).target(format!("view:{id}"));
                audit(txn, now, event.from_client(&client))?;
                Ok(kind)
            })
            .await
    }
}
