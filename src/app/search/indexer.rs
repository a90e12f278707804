//! The indexer: a background task that drains the search outbox into the index. Each cycle
//! reads up to 5,000 outbox rows (or what 250 ms allow), re-reads each record from the same
//! store snapshot (absent: its document is deleted), commits the index, and only then deletes
//! the drained rows. A crash in between replays them (indexing is idempotent). A changed
//! company re-indexes its contacts and deals, whose documents carry its name. At start it
//! rebuilds a missing, unreadable or outdated index in the background first.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use redb::ReadableTable;
use tantivy::{IndexWriter, Term};
use tokio::sync::watch;

use super::documents::{self, AnyRecord};
use super::{SearchIndex, schema, search_error};
use crate::app::App;
use crate::app::crm::index_terms;
use crate::app::store::ServerRead;
use crate::app::store::crm::{Index, OutboxKey, OutboxRow, RecordsTable};
use crate::app::store::files::FileNames;
use crate::domain::crm::Kind;
use crate::domain::ids::RecordId;
use crate::error::AppError;

/// Outbox rows one cycle takes at most.
const CYCLE_ROWS: usize = 5_000;
/// Time one cycle spends indexing before it commits what it has.
const CYCLE_TIME: Duration = Duration::from_millis(250);
/// Pause when the outbox is empty.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// Pause after a commit, so a steady trickle of writes shares commits (≤ ~20 per second).
const AFTER_COMMIT: Duration = Duration::from_millis(50);
/// A rebuild reports progress (and, when the index was empty, commits) this often.
const REBUILD_STEP: usize = 10_000;
/// Outbox rows deleted per write transaction after a rebuild.
const DELETE_CHUNK: usize = 5_000;
/// Contacts and deals re-indexed with a changed company at most (their documents hold its
/// name); beyond that, a rebuild catches up.
const DEPENDENTS_MAX: usize = 5_000;

/// Replaces (or deletes) one record's document, loaded from `records`.
fn index_record(
    index: &SearchIndex,
    writer: &IndexWriter,
    records: &RecordsTable<'_, impl ReadableTable<&'static [u8], &'static [u8]>>,
    files: &FileNames,
    kind: Kind,
    id: &RecordId,
) -> Result<Option<AnyRecord>, AppError> {
    writer.delete_term(Term::from_field_text(index.fields.id, &id.to_string()));
    let Some(record) = documents::load(records, kind, id)? else { return Ok(None) };
    let (shown, workspace) = (record.shown(), records.workspace());
    let company = documents::company_name(records, shown.company_id())?;
    let mut doc = shown.search_doc(*workspace, company, &|field, value| index.blind(workspace, field, value));
    documents::add_file_names(&mut doc, files.of(workspace, kind, id)?);
    writer.add_document(schema::document(&index.fields, &doc)).map_err(search_error)?;
    index.indexed.fetch_add(1, Ordering::Relaxed);
    Ok(Some(record))
}

/// The contacts and deals of a company (whose documents carry its name).
fn dependents(
    index: &Index<impl ReadableTable<&'static [u8], ()>>,
    company: &RecordId,
) -> Result<Vec<(Kind, RecordId)>, AppError> {
    let mut out = Vec::new();
    for kind in [Kind::Contact, Kind::Deal] {
        index.scan(kind, index_terms::COMPANY, company.as_bytes(), None, false, |row| {
            out.push((kind, row.id));
            Ok(out.len() < DEPENDENTS_MAX)
        })?;
    }
    Ok(out)
}

/// Applies the oldest outbox rows to the index and commits; answers the rows applied.
fn apply_outbox(index: &SearchIndex, txn: &ServerRead<'_>) -> Result<Vec<OutboxKey>, AppError> {
    let mut writer = index.writer();
    let started = Instant::now();
    let mut keys = Vec::new();
    let mut seen = HashSet::new();
    let rows = txn.outbox(CYCLE_ROWS)?;
    let files = txn.file_names()?;
    // Rows of one workspace in a row share its opened tables.
    let same_workspace = |a: &(OutboxKey, Option<OutboxRow>), b: &(OutboxKey, Option<OutboxRow>)| {
        a.1.as_ref().map(OutboxRow::workspace) == b.1.as_ref().map(OutboxRow::workspace)
    };
    'rows: for group in rows.chunk_by(same_workspace) {
        let scoped = group[0].1.as_ref().map(|row| txn.queued_in(row));
        let tables = match &scoped {
            Some(scoped) => Some((scoped.records()?, scoped.index()?)),
            None => None,
        };
        for (key, row) in group {
            keys.push(*key);
            // A row this build cannot read is dropped (the next rebuild covers its record).
            if let (Some(row), Some((records, record_index))) = (row, &tables)
                && seen.insert(row.id)
            {
                let record = index_record(index, &writer, records, &files, row.kind, &row.id)?;
                if matches!(record, Some(AnyRecord::Company(_))) {
                    for (kind, id) in dependents(record_index, &row.id)? {
                        if seen.insert(id) {
                            index_record(index, &writer, records, &files, kind, &id)?;
                        }
                    }
                }
            }
            if started.elapsed() >= CYCLE_TIME {
                break 'rows;
            }
        }
    }
    if !keys.is_empty() {
        index.commit(&mut writer)?;
    }
    Ok(keys)
}

/// Deletes drained outbox rows.
async fn delete_rows(app: &App, keys: Vec<OutboxKey>) -> Result<(), AppError> {
    for chunk in keys.chunks(DELETE_CHUNK) {
        let chunk = chunk.to_vec();
        app.store().write(move |txn| txn.delete_outbox(&chunk)).await?;
    }
    Ok(())
}

/// One drain cycle; answers the number of outbox rows applied.
pub(super) async fn drain_once(app: &App, index: &Arc<SearchIndex>) -> Result<usize, AppError> {
    let _drain = index.drain.lock().await;
    if index.paused.load(Ordering::SeqCst) {
        return Ok(0);
    }
    let worker = index.clone();
    let keys = app.store().read(move |txn| apply_outbox(&worker, txn)).await?;
    let count = keys.len();
    delete_rows(app, keys).await?;
    Ok(count)
}

/// Rebuilds the whole index from the store. `progressive` (an empty index) commits every
/// 10,000 documents so search answers from what is indexed meanwhile; otherwise the old
/// index stays visible until the new one is complete. Answers the documents indexed, or
/// `None` when `cancel` fired first.
pub(super) async fn rebuild(
    app: &App,
    index: &Arc<SearchIndex>,
    progressive: bool,
    progress: Arc<dyn Fn(usize) + Send + Sync>,
    cancel: Option<watch::Receiver<()>>,
) -> Result<Option<usize>, AppError> {
    let _drain = index.drain.lock().await;
    index.rebuilding.store(true, Ordering::SeqCst);
    let worker = index.clone();
    let outcome = app
        .store()
        .read(move |txn| {
            let index = worker;
            let mut writer = index.writer();
            index.mark_version(None)?;
            writer.delete_all_documents().map_err(search_error)?;
            let keys: Vec<OutboxKey> = txn.outbox(usize::MAX)?.into_iter().map(|(key, _)| key).collect();
            let (mut count, mut cancelled) = (0usize, false);
            let files = txn.file_names()?;
            txn.each_record(|records, kind, id| {
                index_record(&index, &writer, records, &files, kind, &id)?;
                count += 1;
                if count.is_multiple_of(REBUILD_STEP) {
                    progress(count);
                    cancelled = cancel.as_ref().is_some_and(|c| c.has_changed().unwrap_or(true));
                    if progressive && !cancelled {
                        index.commit(&mut writer)?;
                    }
                }
                Ok(!cancelled)
            })?;
            if cancelled {
                let _ = writer.rollback();
                return Ok(None);
            }
            index.commit(&mut writer)?;
            // One segment: a query then looks each term up once instead of once per segment
            // (a rebuild is rare enough to pay for the merge).
            let segments = writer.index().searchable_segment_ids().map_err(search_error)?;
            if segments.len() > 1 {
                writer.merge(&segments).wait().map_err(search_error)?;
                index.reader.reload().map_err(search_error)?;
            }
            index.mark_version(Some(schema::SCHEMA_VERSION))?;
            index.needs_rebuild.store(false, Ordering::SeqCst);
            progress(count);
            Ok(Some((count, keys)))
        })
        .await;
    index.rebuilding.store(false, Ordering::SeqCst);
    match outcome? {
        Some((count, keys)) => {
            delete_rows(app, keys).await?;
            Ok(Some(count))
        }
        None => Ok(None),
    }
}

/// The indexer task: rebuild if needed, then drain the outbox until `stopped` fires.
pub(super) async fn run(app: App, mut stopped: watch::Receiver<()>) {
    let index = match app.search().index().await {
        Ok(index) => index,
        Err(e) => {
            return tracing::error!(code = %e.code(), detail = e.detail().unwrap_or(""), "search index unavailable");
        }
    };
    if index.needs_rebuild.load(Ordering::SeqCst) {
        tracing::info!("search index missing, unreadable or outdated: rebuilding it from the store");
        let started = Instant::now();
        match rebuild(&app, &index, true, Arc::new(|_| {}), Some(stopped.clone())).await {
            Ok(Some(documents)) => {
                tracing::info!(documents, ms = started.elapsed().as_millis() as u64, "search index rebuilt");
            }
            Ok(None) => return,
            Err(e) => tracing::error!(code = %e.code(), detail = e.detail().unwrap_or(""), "search rebuild failed"),
        }
    }
    loop {
        let pause = if index.paused.load(Ordering::SeqCst) {
            IDLE_POLL
        } else {
            match drain_once(&app, &index).await {
                Ok(0) => IDLE_POLL,
                Ok(_) => AFTER_COMMIT,
                Err(e) => {
                    tracing::error!(code = %e.code(), detail = e.detail().unwrap_or(""), "search indexing failed");
                    Duration::from_secs(1)
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopped.changed() => return,
        }
    }
}
