//! The search service: scoped queries with hydrated hits, the index's status, the rebuild and
//! an audit of index against store. Every hit is re-read from the store under the caller's
//! workspace and dropped when it is gone, so a stale document is never shown.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use redb::ReadableTableMetadata;
use tantivy::TantivyDocument;
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::Value;
use tokio::sync::watch;

use super::documents;
use super::query::{self, Caller, Terms};
use super::snippet::{self, Snippet};
use super::{SearchIndex, indexer, search_error};
use crate::app::App;
use crate::app::auth::TenantScope;
use crate::app::auth::permissions::Action;
use crate::app::error::{AppError, ErrorCode};
use crate::app::store::storage;
use crate::app::store::tables::{RECORDS, SEARCH_OUTBOX};
use crate::domain::crm::Kind;
use crate::domain::ids::{RecordId, WorkspaceId};

/// Hits per answer at most.
pub const MAX_LIMIT: usize = 50;
/// An outbox longer than this makes the health check warn.
pub const BACKLOG_WARN: u64 = 10_000;

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: String,
    pub kind: Option<Kind>,
    pub limit: usize,
}

impl SearchRequest {
    /// From request parameters: `kind` blank or a kind's name, `limit` blank or a number
    /// (clamped to 1..=50 when searching).
    pub fn parse(q: &str, kind: &str, limit: &str, default_limit: usize) -> Result<SearchRequest, AppError> {
        let kind = match kind.trim() {
            "" => None,
            kind => Some(Kind::parse(kind, "kind")?),
        };
        let limit = match limit.trim() {
            "" => default_limit,
            limit => limit.parse().map_err(|_| AppError::field(ErrorCode::InvalidFormat, "limit"))?,
        };
        Ok(SearchRequest { q: q.to_owned(), kind, limit })
    }
}

/// One hit, as read from the store just now.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub kind: Kind,
    pub id: RecordId,
    pub title: String,
    /// The page that shows the record.
    pub link: String,
    pub snippet: Snippet,
}

/// A page of hits and how many documents matched in all.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
    pub total: usize,
}

/// The index's state, for the health page.
#[derive(Debug, Clone, Copy)]
pub struct IndexStatus {
    /// Changes not yet in the index.
    pub backlog: u64,
    pub documents: u64,
    pub rebuilding: bool,
}

/// How the index compares with the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexAudit {
    pub records: usize,
    pub documents: usize,
    /// Records without a document.
    pub missing: usize,
    /// Documents without a record (or duplicated).
    pub extra: usize,
}

type Key = (WorkspaceId, Kind, RecordId);

fn kind_of(text: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.as_str() == text)
}

/// The workspace, kind and record id stored in a document.
fn stored_key(index: &SearchIndex, doc: &TantivyDocument) -> Option<Key> {
    let text = |field| doc.get_first(field).and_then(|v| v.as_str().map(str::to_owned));
    Some((
        text(index.fields.workspace)?.parse().ok()?,
        kind_of(&text(index.fields.kind)?)?,
        text(index.fields.id)?.parse().ok()?,
    ))
}

/// Runs the query: total matches and the top `limit` documents (kind, id).
fn run_query(
    index: &SearchIndex,
    terms: &Terms,
    caller: &Caller,
    kind: Option<Kind>,
    limit: usize,
    now: i64,
) -> Result<(usize, Vec<(Kind, RecordId)>), AppError> {
    let blind = terms.exact.as_ref().map(|(field, value)| index.blind(&caller.workspace, field, value));
    let query = query::build(&index.fields, terms, blind.as_deref(), caller, kind);
    let searcher = index.reader.searcher();
    let top = TopDocs::with_limit(limit).tweak_score(move |segment: &tantivy::SegmentReader| {
        let column = segment.fast_fields().i64("updated_at").ok().map(|c| c.first_or_default_col(0));
        move |doc: tantivy::DocId, score: tantivy::Score| {
            let at = column.as_ref().map_or(0, |c| c.get_val(doc));
            query::recency_boost(score, at, now)
        }
    });
    let (total, hits) = searcher.search(&query, &(Count, top)).map_err(search_error)?;
    let mut out = Vec::with_capacity(hits.len());
    for (_, address) in hits {
        let doc: TantivyDocument = searcher.doc(address).map_err(search_error)?;
        if let Some((workspace, kind, id)) = stored_key(index, &doc)
            && workspace == caller.workspace
        {
            out.push((kind, id));
        }
    }
    Ok((total, out))
}

impl App {
    /// The index, opened (or created empty, to be rebuilt) on first use.
    pub(crate) async fn search_index(&self) -> Result<Arc<SearchIndex>, AppError> {
        if let Some(index) = self.0.search.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(index);
        }
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut slot = app.0.search.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(index) = slot.clone() {
                return Ok(index);
            }
            let index = Arc::new(SearchIndex::open(&app.data_dir().search_dir(), app.store().keyring().clone())?);
            *slot = Some(index.clone());
            Ok(index)
        })
        .await
        .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
    }

    /// Searches every record the caller may read; hits are re-read from the store.
    pub async fn search(&self, scope: &TenantScope, request: &SearchRequest) -> Result<SearchResults, AppError> {
        scope.require(Action::ReadRecords)?;
        let terms = Terms::parse(&request.q);
        if terms.is_empty() {
            return Ok(SearchResults::default());
        }
        let index = self.search_index().await?;
        let caller = Caller { workspace: *scope.workspace(), user: *scope.user() };
        let (limit, kind, now, workspace) =
            (request.limit.clamp(1, MAX_LIMIT), request.kind, self.now(), caller.workspace);
        let query_terms = terms.clone();
        let (total, found) =
            tokio::task::spawn_blocking(move || run_query(&index, &query_terms, &caller, kind, limit, now))
                .await
                .map_err(|e| AppError::internal(ErrorCode::Internal, e))??;
        let items = self
            .store()
            .read(move |txn| {
                let records = txn.open_table(RECORDS).map_err(storage)?;
                let mut items = Vec::with_capacity(found.len());
                for (kind, id) in found {
                    let Some(record) = documents::load(&records, &workspace, kind, &id)? else { continue };
                    let company = documents::company_name(&records, &workspace, record.company_id())?;
                    // Snippets come from the text parts; blind-index terms play no part here.
                    let doc = record.search_doc(workspace, company, &|_, _| String::new());
                    let snippet = snippet::build(&doc.parts, &terms);
                    items.push(SearchHit { kind, id, title: doc.title, link: record.link(), snippet });
                }
                Ok(items)
            })
            .await?;
        let dropped = limit.min(total).saturating_sub(items.len());
        Ok(SearchResults { total: total.saturating_sub(dropped), items })
    }

    /// Rebuilds the index from the store (the old index answers until the new one is done);
    /// `progress` hears the number of documents indexed so far. Answers the total.
    pub async fn rebuild_search(&self, progress: impl Fn(usize) + Send + Sync + 'static) -> Result<usize, AppError> {
        let index = self.search_index().await?;
        let done = indexer::rebuild(self, &index, false, Arc::new(progress), None).await?;
        done.ok_or_else(|| AppError::internal(ErrorCode::Internal, "search rebuild cancelled"))
    }

    /// Runs the indexer until `stopped` fires (rebuilding a missing index first).
    pub fn run_search_indexer(&self, stopped: watch::Receiver<()>) -> impl Future<Output = ()> + Send + 'static {
        indexer::run(self.clone(), stopped)
    }

    /// Holds (or releases) the indexer: changes then wait in the outbox. For tests and
    /// maintenance.
    pub async fn pause_search_indexer(&self, paused: bool) -> Result<(), AppError> {
        let index = self.search_index().await?;
        index.set_paused(paused);
        // Let a cycle in progress finish, so nothing is drained after this returns.
        drop(index.drain.lock().await);
        Ok(())
    }

    /// Outbox backlog and document count.
    pub async fn search_status(&self) -> Result<IndexStatus, AppError> {
        let index = self.search_index().await?;
        let backlog =
            self.store().read(|txn| txn.open_table(SEARCH_OUTBOX).map_err(storage)?.len().map_err(storage)).await?;
        Ok(IndexStatus { backlog, documents: index.num_docs(), rebuilding: index.rebuilding.load(Ordering::SeqCst) })
    }

    /// Compares the index with the store, record by record (exact; reads everything).
    pub async fn audit_search(&self) -> Result<IndexAudit, AppError> {
        let index = self.search_index().await?;
        let in_store = self
            .store()
            .read(|txn| {
                let mut keys = HashSet::new();
                let records = txn.open_table(RECORDS).map_err(storage)?;
                documents::each_record(&records, |workspace, record| {
                    keys.insert((workspace, record.kind(), record.id()));
                    Ok(true)
                })?;
                Ok(keys)
            })
            .await?;
        let in_index = tokio::task::spawn_blocking(move || {
            let searcher = index.reader.searcher();
            let mut keys = Vec::new();
            for segment in searcher.segment_readers() {
                let store = segment.get_store_reader(10).map_err(search_error)?;
                for doc in segment.doc_ids_alive() {
                    let doc: TantivyDocument = store.get(doc).map_err(search_error)?;
                    keys.extend(stored_key(&index, &doc));
                }
            }
            Ok::<_, AppError>(keys)
        })
        .await
        .map_err(|e| AppError::internal(ErrorCode::Internal, e))??;
        let unique: HashSet<Key> = in_index.iter().copied().collect();
        Ok(IndexAudit {
            records: in_store.len(),
            documents: in_index.len(),
            missing: in_store.difference(&unique).count(),
            extra: unique.difference(&in_store).count() + (in_index.len() - unique.len()),
        })
    }
}
