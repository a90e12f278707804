//! CSV import of contacts and companies: upload (sniffed, sealed at rest for an hour) → preview
//! with a column mapping → dry run → commit in batches of at most 1,000 rows per transaction.
//! Each committed import remembers what it created and the previous version of what it
//! changed, so it can be reverted (see `import_revert`).

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use super::import_rows::{Importable, Lookup, NewCompanies, Planned, field_of, guess, resolve};
use super::records::{check_references, record_activity};
use super::{CrmRecord, WriteContext};
use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::rate_limit::Budget;
use crate::app::store::WorkspaceWrite;
use crate::app::store::imports::{ImportItem, Upload};
use crate::domain::crm::{Company, CompanyInput};
use crate::domain::ids::RecordId;
use crate::domain::spreadsheet::restore_neutralised;
use crate::error::{AppError, ErrorCode};

pub use super::import_revert::error_report;
pub use crate::app::store::imports::{ImportRecord, Rejection, RevertSummary};

crate::app::service! {
    /// CSV imports: upload, preview, dry run, commit and revert.
    Imports
}

/// Largest file accepted.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
/// How long an upload waits for its commit.
pub const UPLOAD_SECONDS: i64 = 3600;
/// Rows written per transaction.
pub const BATCH_ROWS: usize = 1_000;
const MAX_COLUMNS: usize = 100;
const MAX_ROWS: usize = 100_000;
/// Rows the preview shows; creates and updates the dry run lists.
const PREVIEW_ROWS: usize = 10;
const LISTED: usize = 200;

/// A parsed CSV file: its header and data rows (row `i` is line `i + 2` of a spreadsheet).
#[derive(Debug, Clone)]
pub struct CsvTable {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Accepts UTF-8 text (with or without a BOM) without control characters other than tab and
/// line breaks; anything else (binary, UTF-16, images, archives) is E2005.
pub fn parse_csv(bytes: &[u8]) -> Result<CsvTable, AppError> {
    let not_csv = || AppError::field(ErrorCode::FileTypeNotAllowed, "file");
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(AppError::field(ErrorCode::FileTooLarge, "file"));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| not_csv())?;
    if text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n')) {
        return Err(not_csv());
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> =
        reader.headers().map_err(|_| not_csv())?.iter().map(|h| h.trim().chars().take(100).collect()).collect();
    if headers.iter().all(String::is_empty) {
        return Err(AppError::field(ErrorCode::Required, "file"));
    }
    if headers.len() > MAX_COLUMNS {
        return Err(AppError::field(ErrorCode::TooLong, "file"));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|_| AppError::field(ErrorCode::InvalidFormat, "file"))?;
        if rows.len() == MAX_ROWS {
            return Err(AppError::field(ErrorCode::FileTooLarge, "file"));
        }
        rows.push(record.iter().map(|cell| restore_neutralised(cell).to_owned()).collect());
    }
    Ok(CsvTable { headers, rows })
}

/// Column `i` → the field it fills (None: ignored).
pub type Mapping = Vec<Option<&'static str>>;

/// Reads a submitted mapping: one entry per column, each a field of the kind or blank; a field
/// may be chosen once.
pub(crate) fn parse_mapping<T: Importable>(raw: &[String], columns: usize) -> Result<Mapping, AppError> {
    let mut mapping = Vec::with_capacity(columns);
    for i in 0..columns {
        let wanted = raw.get(i).map(|s| s.trim()).unwrap_or("");
        let field = match wanted {
            "" => None,
            name => Some(
                T::FIELDS
                    .iter()
                    .map(|(f, _, _)| *f)
                    .find(|f| *f == name)
                    .ok_or_else(|| AppError::field(ErrorCode::InvalidFormat, "mapping"))?,
            ),
        };
        if field.is_some() && mapping.contains(&field) {
            return Err(AppError::field(ErrorCode::Duplicate, "mapping"));
        }
        mapping.push(field);
    }
    Ok(mapping)
}

/// The guessed mapping of a header (each field at most once).
pub(crate) fn guess_mapping<T: Importable>(headers: &[String]) -> Mapping {
    let mut mapping: Mapping = Vec::new();
    for header in headers {
        let field = guess::<T>(header).filter(|f| !mapping.contains(&Some(f)));
        mapping.push(field);
    }
    mapping
}

fn cells<'a>(row: &'a [String], mapping: &Mapping) -> Vec<(&'static str, &'a str)> {
    mapping
        .iter()
        .zip(row)
        .filter_map(|(field, value)| Some((((*field)?), value.trim())).filter(|(_, v)| !v.is_empty()))
        .collect()
}

/// What the preview page shows.
#[derive(Debug, Clone)]
pub struct Preview {
    pub headers: Vec<String>,
    pub sample: Vec<Vec<String>>,
    pub rows: usize,
    pub mapping: Mapping,
}

/// Choices made for one import besides the column mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Contact rows naming a company that isn't in the CRM create it (instead of being
    /// rejected with E3002).
    pub create_companies: bool,
}

/// What a commit would do.
#[derive(Debug, Clone, Default)]
pub struct DryRun {
    /// Companies that would be created for the rows naming them (names, the first few).
    pub new_companies: Vec<String>,
    pub companies_created: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// `(row, title)` of the first creates and updates.
    pub creates: Vec<(u32, String)>,
    pub updates: Vec<(u32, String)>,
    pub rejected: Vec<Rejection>,
}

fn row_number(index: usize) -> u32 {
    u32::try_from(index + 2).unwrap_or(u32::MAX)
}

fn rejection(row: u32, error: &AppError) -> Rejection {
    Rejection { row, field: field_of(error), code: error.code().as_str().to_owned() }
}

/// Storage trouble aborts an import; anything else rejects one row.
fn is_row_error(error: &AppError) -> bool {
    !matches!(error.code(), ErrorCode::StorageUnavailable | ErrorCode::Internal)
}

/// Hex SHA-256 of a record's JSON: what a revert compares to notice later changes.
pub(crate) fn version_hash<T: CrmRecord>(record: &T) -> Result<String, AppError> {
    let json = serde_json::to_vec(record).map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
    Ok(hex::encode(Sha256::digest(&json)))
}

impl Imports<'_> {
    fn upload_purpose(scope: &TenantScope, id: &RecordId) -> String {
        format!("import-upload:{}:{id}", scope.workspace())
    }

    /// Stores an uploaded file for kind `T` (sniffed, sealed) and returns its id.
    pub(crate) async fn upload<T: Importable>(
        &self,
        scope: &TenantScope,
        bytes: Vec<u8>,
        client: &ClientInfo,
    ) -> Result<RecordId, AppError> {
        scope.require(Action::ImportExport)?;
        self.limiters().take(Budget::Upload, *scope.user())?;
        let table = parse_csv(&bytes)?;
        let id = RecordId::random();
        let sealed = self.sealer().seal(&Self::upload_purpose(scope, &id), &bytes)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        let upload = Upload { at: now, by: *scope.user(), kind: T::KIND, sealed };
        let fields = [format!("kind={}", T::KIND.as_str()), format!("rows={}", table.rows.len())];
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                txn.expire_uploads(now - UPLOAD_SECONDS)?;
                txn.save_upload(&id, &upload)?;
                let event = AuditEvent::new("import.uploaded", Some(*scope.user()))
                    .target(format!("upload:{id}"))
                    .fields(&fields.iter().map(String::as_str).collect::<Vec<_>>())
                    .from_client(&client);
                audit(txn, now, event)
            })
            .await?;
        Ok(id)
    }

    /// The caller's own, unexpired upload for kind `T`, parsed (E3002 otherwise).
    pub(crate) async fn file<T: Importable>(&self, scope: &TenantScope, id: RecordId) -> Result<CsvTable, AppError> {
        scope.require(Action::ImportExport)?;
        let upload = self
            .store()
            .workspace(scope)
            .read(move |txn| txn.upload(&id))
            .await?
            .filter(|u| u.by == *scope.user() && u.kind == T::KIND && u.at > self.now() - UPLOAD_SECONDS)
            .ok_or(ErrorCode::NotFound)?;
        let bytes = self.sealer().open(&Self::upload_purpose(scope, &id), &upload.sealed)?;
        parse_csv(&bytes)
    }

    pub(crate) async fn preview<T: Importable>(&self, scope: &TenantScope, id: RecordId) -> Result<Preview, AppError> {
        let file = self.file::<T>(scope, id).await?;
        let mapping = guess_mapping::<T>(&file.headers);
        let sample = file.rows.iter().take(PREVIEW_ROWS).cloned().collect();
        Ok(Preview { rows: file.rows.len(), headers: file.headers, sample, mapping })
    }

    /// What committing the upload with `mapping` would do; nothing is written.
    pub(crate) async fn dry_run<T: Importable>(
        &self,
        scope: &TenantScope,
        id: RecordId,
        mapping: &Mapping,
        options: ImportOptions,
    ) -> Result<DryRun, AppError> {
        let file = self.file::<T>(scope, id).await?;
        let (mapping, by, now) = (mapping.clone(), *scope.user(), self.now());
        self.store()
            .workspace(scope)
            .read(move |txn| {
                let (index, records) = (txn.index()?, txn.records()?);
                let companies = std::cell::RefCell::new(NewCompanies::default());
                let new_companies = options.create_companies.then_some(&companies);
                let lookup = Lookup { index: &index, records: &records, new_companies };
                let ctx = WriteContext { now, by, pipeline: &[] };
                let (mut run, mut seen) = (DryRun::default(), HashSet::new());
                for (i, row) in file.rows.iter().enumerate() {
                    let row_no = row_number(i);
                    let planned = resolve::<T>(&cells(row, &mapping), &lookup, &mut seen, &ctx);
                    if planned.is_ok() {
                        for (_, name) in companies.borrow_mut().take_row() {
                            run.companies_created += 1;
                            if run.new_companies.len() < LISTED {
                                run.new_companies.push(name);
                            }
                        }
                    } else {
                        companies.borrow_mut().drop_row();
                    }
                    match planned {
                        Ok(Planned::Create(record, _)) => {
                            run.created += 1;
                            if run.creates.len() < LISTED {
                                run.creates.push((row_no, record.title()));
                            }
                        }
                        Ok(Planned::Update { after, .. }) => {
                            run.updated += 1;
                            if run.updates.len() < LISTED {
                                run.updates.push((row_no, after.title()));
                            }
                        }
                        Ok(Planned::Unchanged) => run.unchanged += 1,
                        Err(e) if is_row_error(&e) => run.rejected.push(rejection(row_no, &e)),
                        Err(e) => return Err(e),
                    }
                }
                Ok(run)
            })
            .await
    }

    /// Writes the upload with `mapping` in batches; needs a fresh second factor. Returns the
    /// import's id (its audit entry `import.committed` targets `import:<id>`).
    pub(crate) async fn commit<T: Importable>(
        &self,
        scope: &TenantScope,
        upload: RecordId,
        mapping: &Mapping,
        options: ImportOptions,
        client: &ClientInfo,
    ) -> Result<RecordId, AppError> {
        scope.require_recent_second_factor(self.now())?;
        let file = self.file::<T>(scope, upload).await?;
        let now = self.now();
        let mut import = ImportRecord {
            id: RecordId::random(),
            kind: T::KIND,
            by: *scope.user(),
            at: now,
            created: 0,
            updated: 0,
            unchanged: 0,
            rejected: Vec::new(),
            upload: Some(upload),
            companies_created: 0,
            complete: false,
            items: 0,
            reverted: None,
        };
        let rows: Vec<(u32, Vec<(&'static str, String)>)> = file
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| (row_number(i), cells(row, mapping).into_iter().map(|(f, v)| (f, v.to_owned())).collect()))
            .collect();
        let batches: Vec<Vec<_>> = rows.chunks(BATCH_ROWS).map(<[_]>::to_vec).collect();
        let count = batches.len().max(1);
        let mut batches = batches.into_iter();
        let mut seen = HashSet::new();
        let mut companies = options.create_companies.then(NewCompanies::default);
        for n in 0..count {
            let batch = batches.next().unwrap_or_default();
            let (scope, client, last) = (scope.clone(), client.clone(), n + 1 == count);
            (import, seen, companies) = self
                .store()
                .workspace(&scope)
                .write(move |txn| {
                    let new_companies = companies.map(std::cell::RefCell::new);
                    let mut progress =
                        Progress { import: &mut import, seen: &mut seen, companies: new_companies.as_ref() };
                    write_batch::<T>(txn, &scope, &mut progress, batch, now)?;
                    let companies = new_companies.map(std::cell::RefCell::into_inner);
                    if last {
                        import.complete = true;
                        txn.delete_upload(&upload)?;
                        let fields = [
                            format!("kind={}", T::KIND.as_str()),
                            format!("created={}", import.created),
                            format!("companies_created={}", import.companies_created),
                            format!("updated={}", import.updated),
                            format!("unchanged={}", import.unchanged),
                            format!("rejected={}", import.rejected.len()),
                        ];
                        let event = AuditEvent::new("import.committed", Some(*scope.user()))
                            .target(format!("import:{}", import.id))
                            .fields(&fields.iter().map(String::as_str).collect::<Vec<_>>())
                            .from_client(&client);
                        audit(txn, now, event)?;
                    }
                    txn.save_import(&import)?;
                    Ok((import, seen, companies))
                })
                .await?;
        }
        Ok(import.id)
    }
}

/// What an import carries from batch to batch.
struct Progress<'a> {
    import: &'a mut ImportRecord,
    /// Match keys of the rows so far (a repeat is a duplicate).
    seen: &'a mut HashSet<String>,
    /// `Some` when missing companies are created.
    companies: Option<&'a std::cell::RefCell<NewCompanies>>,
}

/// Resolves and writes one batch of rows inside `txn`, recording each change as an item.
fn write_batch<T: Importable>(
    txn: &WorkspaceWrite<'_>,
    scope: &TenantScope,
    progress: &mut Progress<'_>,
    batch: Vec<(u32, Vec<(&'static str, String)>)>,
    now: i64,
) -> Result<(), AppError> {
    let ctx = WriteContext { now, by: *scope.user(), pipeline: &[] };
    for (row, owned_cells) in batch {
        let cells: Vec<(&'static str, &str)> = owned_cells.iter().map(|(f, v)| (*f, v.as_str())).collect();
        match write_row::<T>(txn, progress, row, &cells, &ctx) {
            Ok(()) => {}
            Err(e) if is_row_error(&e) => {
                if let Some(companies) = progress.companies {
                    companies.borrow_mut().drop_row();
                }
                progress.import.rejected.push(rejection(row, &e));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes one row (and the companies it names that the import creates), or leaves the
/// transaction as it was and answers why the row is rejected.
fn write_row<T: Importable>(
    txn: &WorkspaceWrite<'_>,
    progress: &mut Progress<'_>,
    row: u32,
    cells: &[(&'static str, &str)],
    ctx: &WriteContext<'_>,
) -> Result<(), AppError> {
    let planned = {
        let (index, records) = (txn.index()?, txn.records()?);
        let lookup = Lookup { index: &index, records: &records, new_companies: progress.companies };
        resolve::<T>(cells, &lookup, progress.seen, ctx)?
    };
    let (before, after, changes) = match planned {
        Planned::Create(record, changes) => (None, record, changes),
        Planned::Update { before, after, changes } => (Some(before), after, changes),
        Planned::Unchanged => {
            progress.import.unchanged += 1;
            return Ok(());
        }
    };
    let mut companies = Vec::new();
    for (id, name) in progress.companies.map(|c| c.borrow().pending().to_vec()).unwrap_or_default() {
        let input = CompanyInput { name: Some(name), ..Default::default() };
        companies
            .push(<Company as CrmRecord>::create(id, input, ctx).map_err(|e| AppError::field(e.code(), "company"))?);
    }
    // New companies are saved first so the row's reference to them checks out.
    for (company, _) in &companies {
        txn.save(None, company)?;
    }
    if let Err(e) = check_references(txn, &after) {
        for (company, _) in &companies {
            txn.delete(company)?;
        }
        return Err(e);
    }
    if let Some(pending) = progress.companies {
        pending.borrow_mut().take_row();
    }
    for (company, company_changes) in &companies {
        record_activity(txn, None, company, company_changes, ctx)?;
        save_item(txn, progress.import, row, None, company)?;
        progress.import.companies_created += 1;
    }
    txn.save(before.as_ref(), &after)?;
    record_activity(txn, before.as_ref(), &after, &changes, ctx)?;
    save_item(txn, progress.import, row, before.as_ref(), &after)?;
    if before.is_some() {
        progress.import.updated += 1
    } else {
        progress.import.created += 1
    }
    Ok(())
}

/// Records what the import did to one record, so a revert can undo it.
fn save_item<R: CrmRecord>(
    txn: &WorkspaceWrite<'_>,
    import: &mut ImportRecord,
    row: u32,
    before: Option<&R>,
    after: &R,
) -> Result<(), AppError> {
    let previous = match before {
        Some(b) => Some(serde_json::to_string(b).map_err(|e| AppError::internal(ErrorCode::Internal, e))?),
        None => None,
    };
    let item = ImportItem { row, kind: R::KIND, id: after.id(), before: previous, after_hash: version_hash(after)? };
    txn.save_import_item(&import.id, import.items, &item)?;
    import.items += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::crm::Contact;

    #[test]
    fn text_with_or_without_bom_is_accepted_and_binary_refused() {
        let table = parse_csv(b"\xEF\xBB\xBFE-mail,First name\r\nann@example.com,Ann\r\n").unwrap();
        assert_eq!(table.headers, ["E-mail", "First name"]);
        assert_eq!(table.rows, [["ann@example.com", "Ann"]]);
        for binary in [&b"\x89PNG\r\n\x1a\n\0\0"[..], b"PK\x03\x04zip", b"\xFF\xFEa\0,\0", b"a,b\n\0,1\n"] {
            assert_eq!(parse_csv(binary).unwrap_err().code(), ErrorCode::FileTypeNotAllowed, "{binary:?}");
        }
        assert_eq!(parse_csv(b"").unwrap_err().code(), ErrorCode::Required);
    }

    #[test]
    fn headers_are_guessed_once_and_mappings_checked() {
        let headers: Vec<String> =
            ["E-mail", "First Name", "surname", "Company", "Email", "whatever"].map(String::from).to_vec();
        let mapping = guess_mapping::<Contact>(&headers);
        assert_eq!(mapping, [Some("email"), Some("first_name"), Some("last_name"), Some("company"), None, None]);
        let twice = ["email".to_owned(), "email".to_owned()];
        assert_eq!(parse_mapping::<Contact>(&twice, 2).unwrap_err().code(), ErrorCode::Duplicate);
        let unknown = ["password".to_owned()];
        assert_eq!(parse_mapping::<Contact>(&unknown, 1).unwrap_err().code(), ErrorCode::InvalidFormat);
        assert_eq!(parse_mapping::<Contact>(&[], 2).unwrap(), [None, None]);
    }
}
