//! Exports: CSV (RFC 4180, every cell formula-neutralised) of contacts, companies and deals for
//! a list filter or a selection of ids, and vCards of contacts. Bulk exports need `ImportExport`,
//! a fresh second factor and one unit of the export budget, and are audited with the kind and
//! row count only.

use crate::domain::timestamps::format_utc;
use std::collections::HashMap;

use super::records::MAX_LIMIT;
use super::{CrmRecord, ListQuery, vcard};
use crate::app::audit::{AuditEvent, record_now};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::rate_limit::Budget;
use crate::domain::crm::{Company, Contact, Deal};
use crate::domain::ids::{RecordId, UserId};
use crate::domain::spreadsheet::neutralise_formula;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// CSV and vCard exports.
    Exports
}

/// Rows one export writes at most.
pub const MAX_EXPORT_ROWS: usize = 200_000;
/// Ids one selection may name.
pub const MAX_SELECTED: usize = 1_000;

/// What to export: everything matching a filter, or the records named.
#[derive(Debug, Clone)]
pub enum Selection {
    Filter(Box<ListQuery>),
    Ids(Vec<RecordId>),
}

/// Names the rows refer to.
pub struct ExportNames {
    pub people: HashMap<UserId, String>,
    pub companies: HashMap<RecordId, String>,
}

/// A kind that has a CSV form.
pub(crate) trait CsvExport: CrmRecord {
    const HEADER: &'static [&'static str];
    fn cells(&self, names: &ExportNames) -> Vec<String>;
    fn company(&self) -> Option<RecordId> {
        None
    }
}

fn opt(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn stamp_cells(stamp: &crate::domain::crm::Stamp) -> [String; 2] {
    [format_utc(stamp.created_at), format_utc(stamp.updated_at)]
}

impl CsvExport for Contact {
    const HEADER: &'static [&'static str] = &[
        "id",
        "first_name",
        "last_name",
        "title",
        "email",
        "other_emails",
        "phone",
        "other_phones",
        "company",
        "street",
        "city",
        "postal_code",
        "region",
        "country",
        "status",
        "tags",
        "owner",
        "background",
        "date_of_birth",
        "tax_id",
        "bank_details",
        "created",
        "updated",
    ];

    fn cells(&self, names: &ExportNames) -> Vec<String> {
        let rest = |all: Vec<&str>| all.get(1..).unwrap_or_default().join("; ");
        let emails: Vec<&str> = self.emails.iter().map(|e| e.address.as_str()).collect();
        let phones: Vec<&str> = self.phones.iter().map(|p| p.number.as_str()).collect();
        let a = &self.address;
        let mut cells = vec![
            self.id.to_string(),
            self.first_name.clone(),
            self.last_name.clone(),
            opt(self.title.as_ref()),
            emails.first().map(|e| e.to_string()).unwrap_or_default(),
            rest(emails),
            phones.first().map(|p| p.to_string()).unwrap_or_default(),
            rest(phones),
            opt(self.company_id.and_then(|c| names.companies.get(&c))),
            a.street.clone(),
            a.city.clone(),
            a.postal_code.clone(),
            a.region.clone(),
            a.country.clone(),
            self.status.as_str().to_owned(),
            self.tags.join(", "),
            opt(names.people.get(&self.owner_id)),
            self.background.clone(),
            opt(self.date_of_birth.as_ref()),
            opt(self.tax_id.as_ref()),
            opt(self.bank_details.as_ref()),
        ];
        cells.extend(stamp_cells(&self.stamp));
        cells
    }

    fn company(&self) -> Option<RecordId> {
        self.company_id
    }
}

impl CsvExport for Company {
    const HEADER: &'static [&'static str] = &[
        "id",
        "name",
        "website",
        "phone",
        "industry",
        "size",
        "street",
        "city",
        "postal_code",
        "region",
        "country",
        "tax_id",
        "bank_details",
        "credit_limit",
        "tags",
        "owner",
        "description",
        "created",
        "updated",
    ];

    fn cells(&self, names: &ExportNames) -> Vec<String> {
        let a = &self.address;
        let mut cells = vec![
            self.id.to_string(),
            self.name.clone(),
            opt(self.website.as_ref()),
            opt(self.phone.as_ref()),
            opt(self.industry.as_ref()),
            opt(self.size.as_ref()),
            a.street.clone(),
            a.city.clone(),
            a.postal_code.clone(),
            a.region.clone(),
            a.country.clone(),
            opt(self.tax_id.as_ref()),
            opt(self.bank_details.as_ref()),
            opt(self.credit_limit.as_ref()),
            self.tags.join(", "),
            opt(names.people.get(&self.owner_id)),
            self.description.clone(),
        ];
        cells.extend(stamp_cells(&self.stamp));
        cells
    }
}

impl CsvExport for Deal {
    const HEADER: &'static [&'static str] = &[
        "id",
        "name",
        "company",
        "stage",
        "amount",
        "currency",
        "expected_close",
        "probability",
        "owner",
        "archived",
        "created",
        "updated",
    ];

    fn cells(&self, names: &ExportNames) -> Vec<String> {
        let mut cells = vec![
            self.id.to_string(),
            self.name.clone(),
            opt(self.company_id.and_then(|c| names.companies.get(&c))),
            self.stage.clone(),
            opt(self.amount.as_ref()),
            self.currency.to_string(),
            opt(self.expected_close.as_ref()),
            self.probability.to_string(),
            opt(names.people.get(&self.owner_id)),
            self.archived.to_string(),
        ];
        cells.extend(stamp_cells(&self.stamp));
        cells
    }

    fn company(&self) -> Option<RecordId> {
        self.company_id
    }
}

/// Writes `rows` as RFC 4180 CSV with every cell neutralised.
pub fn write_csv<'a>(header: &[&str], rows: impl Iterator<Item = Vec<String>> + 'a) -> Result<String, AppError> {
    let failed = |e: csv::Error| AppError::internal(ErrorCode::Internal, e);
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    writer.write_record(header).map_err(failed)?;
    for row in rows {
        writer.write_record(row.iter().map(|c| neutralise_formula(c))).map_err(failed)?;
    }
    let bytes = writer.into_inner().map_err(|e| AppError::internal(ErrorCode::Internal, e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal(ErrorCode::Internal, e))
}

impl Exports<'_> {
    /// Checks that the caller may run a bulk export now and takes one from the budget.
    fn begin_export(&self, scope: &TenantScope) -> Result<(), AppError> {
        scope.require(Action::ImportExport)?;
        scope.require_recent_second_factor(self.now())?;
        self.limiters().take(Budget::Export, *scope.user())
    }

    /// The records of a selection (bounded by [`MAX_EXPORT_ROWS`]).
    async fn selected<T: CrmRecord>(&self, scope: &TenantScope, selection: &Selection) -> Result<Vec<T>, AppError> {
        let mut found = Vec::new();
        match selection {
            Selection::Ids(ids) => {
                for id in ids.iter().take(MAX_SELECTED) {
                    match self.records().get::<T>(scope, *id).await {
                        Ok(view) => found.push(view.record),
                        Err(e) if e.code() == ErrorCode::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Selection::Filter(filter) => {
                let mut query = ListQuery::first(filter.filter.clone(), MAX_LIMIT);
                loop {
                    let page = self.records().list::<T>(scope, &query).await?;
                    found.extend(page.items);
                    match page.next_cursor {
                        Some(cursor) if found.len() < MAX_EXPORT_ROWS => query.after(&cursor)?,
                        _ => break,
                    }
                }
                found.truncate(MAX_EXPORT_ROWS);
            }
        }
        Ok(found)
    }

    async fn export_names<T: CsvExport>(&self, scope: &TenantScope, records: &[T]) -> Result<ExportNames, AppError> {
        let people = self.records().people(scope).await?.into_iter().map(|p| (p.id, p.name)).collect();
        let mut ids: Vec<RecordId> = records.iter().filter_map(CsvExport::company).collect();
        ids.sort_by_key(|id| *id.as_bytes());
        ids.dedup();
        let companies =
            if ids.is_empty() { HashMap::new() } else { self.records().titles::<Company>(scope, ids).await? };
        Ok(ExportNames { people, companies })
    }

    async fn audit_export(
        &self,
        scope: &TenantScope,
        kind: &str,
        rows: usize,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let fields = [format!("kind={kind}"), format!("rows={rows}")];
        let event = AuditEvent::new("records.exported", Some(*scope.user()))
            .target(kind)
            .fields(&fields.iter().map(String::as_str).collect::<Vec<_>>())
            .from_client(client);
        record_now(self, scope, event).await
    }

    /// The selected records of kind `T` as CSV, and how many rows it holds.
    pub(crate) async fn csv<T: CsvExport>(
        &self,
        scope: &TenantScope,
        selection: &Selection,
        client: &ClientInfo,
    ) -> Result<(String, usize), AppError> {
        self.begin_export(scope)?;
        let records = self.selected::<T>(scope, selection).await?;
        let names = self.export_names(scope, &records).await?;
        let csv = write_csv(T::HEADER, records.iter().map(|r| r.cells(&names)))?;
        self.audit_export(scope, T::KIND.as_str(), records.len(), client).await?;
        Ok((csv, records.len()))
    }

    /// The selected contacts as one vCard file.
    pub async fn vcards(
        &self,
        scope: &TenantScope,
        selection: &Selection,
        client: &ClientInfo,
    ) -> Result<String, AppError> {
        self.begin_export(scope)?;
        let contacts = self.selected::<Contact>(scope, selection).await?;
        let names = self.export_names(scope, &contacts).await?;
        let cards: String = contacts
            .iter()
            .map(|c| vcard::contact(c, c.company_id.and_then(|id| names.companies.get(&id)).map(String::as_str)))
            .collect();
        self.audit_export(scope, "vcard", contacts.len(), client).await?;
        Ok(cards)
    }

    /// One contact's vCard (anyone who may read it).
    pub async fn vcard(&self, scope: &TenantScope, id: RecordId) -> Result<String, AppError> {
        let contact = self.records().get::<Contact>(scope, id).await?.record;
        let company = match contact.company_id {
            Some(company) => self.records().titles::<Company>(scope, vec![company]).await?.remove(&company),
            None => None,
        };
        Ok(vcard::contact(&contact, company.as_deref()))
    }
}
