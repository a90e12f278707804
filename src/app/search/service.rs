//! The search service: scoped queries with hydrated hits, the index's status, the rebuild and
//! an audit of index against store. Every hit is re-read from the store under the caller's
//! workspace and dropped when it is gone, so a stale document is never shown.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use redb::ReadableTable;
use tantivy::TantivyDocument;
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::schema::Value;
use tokio::sync::watch;

use super::documents::{self, Hit};
use super::query::{self, Caller, Pass, Scope, Terms};
use super::snippet::{self, Snippet};
use super::{SearchIndex, bits, indexer, search_error};
use crate::app::App;
use crate::app::auth::TenantScope;
use crate::app::auth::permissions::Action;
use crate::app::store::crm::RecordsTable;
use crate::domain::crm::Kind;
use crate::domain::ids::{RecordId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// Full-text search, suggestions and the indexer.
    Search
}

/// Hits per answer at most.
pub const MAX_LIMIT: usize = 50;
/// Records sharing one phone number or tax id considered at most by an exact lookup.
const EXACT_MATCHES_MAX: usize = 1_000;
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
    /// What tells it from another hit of the same title (company, email or website); in
    /// suggestions only when titles repeat.
    pub context: String,
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

/// Whether every document of the index (deleted ones too) belongs to `workspace`: then the
/// workspace clause filters nothing and is left out. Exact, on the searcher's own snapshot.
fn whole_index(index: &SearchIndex, searcher: &tantivy::Searcher, workspace: &WorkspaceId) -> Result<bool, AppError> {
    let documents: u64 = searcher.segment_readers().iter().map(|s| u64::from(s.max_doc())).sum();
    let term = tantivy::Term::from_field_text(index.fields.workspace, &workspace.to_string());
    Ok(searcher.doc_freq(&term).map_err(search_error)? == documents)
}

/// What a search answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Hits with snippets and the total number of matches.
    Full,
    /// Titles only, for as-you-type suggestions (no total, no snippets).
    Suggest,
}

/// The top `limit` documents of `query` (with the recency boost) and, when `count`, how
/// many documents match in all.
fn top_documents(
    searcher: &tantivy::Searcher,
    query: &dyn tantivy::query::Query,
    limit: usize,
    now: i64,
    count: bool,
) -> Result<(usize, Vec<tantivy::DocAddress>), AppError> {
    let top = TopDocs::with_limit(limit).tweak_score(move |segment: &tantivy::SegmentReader| {
        let column = segment.fast_fields().i64("updated_at").ok().map(|c| c.first_or_default_col(0));
        move |doc: tantivy::DocId, score: tantivy::Score| {
            let at = column.as_ref().map_or(0, |c| c.get_val(doc));
            query::recency_boost(score, at, now)
        }
    });
    let (total, hits) = if count {
        searcher.search(query, &(Count, top)).map_err(search_error)?
    } else {
        let hits = searcher.search(query, &top).map_err(search_error)?;
        (hits.len(), hits)
    };
    Ok((total, hits.into_iter().map(|(_, address)| address).collect()))
}

/// Matches above this many are ordered by recency (title matches first) rather than scored:
/// scoring costs ~100 ns a match, and relevance among thousands of equal matches (a common
/// first name, a word in every other note) says little.
const SCORED_AT_MOST: usize = 1_000;

/// Runs the search: total matches and the top `limit` documents (kind, id). The exact pass
/// (titles only for suggestions) runs first; the fuzzy pass only when it found nothing.
fn run_query(
    index: &SearchIndex,
    terms: &Terms,
    caller: Caller,
    kind: Option<Kind>,
    limit: usize,
    now: i64,
    mode: Mode,
) -> Result<(usize, Vec<(Kind, RecordId)>), AppError> {
    let searcher = index.reader.searcher();
    let scope = Scope { caller, kind, whole_index: whole_index(index, &searcher, &caller.workspace)? };
    let blind = terms.exact.as_ref().map(|(field, value)| index.blind(&caller.workspace, field, value));
    let scored = |pass, count| {
        let query = query::ranked(&index.fields, terms, blind.as_deref(), &scope, pass);
        top_documents(&searcher, &*query, limit, now, count)
    };
    // Counted and ordered by recency over bitsets; scored only when few match.
    let counted = |pass| -> Result<(usize, Vec<tantivy::DocAddress>), AppError> {
        let (total, recent) =
            bits::count_and_recent(&searcher, &index.recency, &index.fields, terms, &scope, pass, limit)?;
        if total == 0 || total > SCORED_AT_MOST { Ok((total, recent)) } else { Ok((total, scored(pass, false)?.1)) }
    };
    let first = if mode == Mode::Suggest { Pass::Titles } else { Pass::Exact };
    let (mut total, mut hits) = if blind.is_some() { scored(first, true)? } else { counted(first)? };
    if hits.is_empty() && query::fuzzy_could_help(terms) {
        (total, hits) =
            if blind.is_some() { scored(first.fuzzy(), mode == Mode::Full)? } else { counted(first.fuzzy())? };
    }
    let mut out = Vec::with_capacity(hits.len());
    for address in hits {
        let doc: TantivyDocument = searcher.doc(address).map_err(search_error)?;
        if let Some((workspace, kind, id)) = stored_key(index, &doc)
            && workspace == caller.workspace
        {
            out.push((kind, id));
        }
    }
    Ok((total, out))
}

impl Search<'_> {
    /// The index, opened (or created empty, to be rebuilt) on first use.
    pub(crate) async fn index(&self) -> Result<Arc<SearchIndex>, AppError> {
        if let Some(index) = self.inner().search.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(index);
        }
        let app = App::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut slot = app.0.search.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(index) = slot.clone() {
                return Ok(index);
            }
            let index = Arc::new(SearchIndex::open(&app.data_dir().search_dir(), app.store().keyring().clone())?);
            *slot = Some(index.clone());
            drop(slot);
            index.order_segments(); // first use is at start: before the first queries
            Ok(index)
        })
        .await
        .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
    }

    /// Searches every record the caller may read; hits are re-read from the store.
    pub async fn query(&self, scope: &TenantScope, request: &SearchRequest) -> Result<SearchResults, AppError> {
        self.search_in(scope, request, Mode::Full).await
    }

    /// As-you-type suggestions: records whose titles match (typos only when nothing does),
    /// without snippets or a total.
    pub async fn suggest(&self, scope: &TenantScope, request: &SearchRequest) -> Result<Vec<SearchHit>, AppError> {
        Ok(self.search_in(scope, request, Mode::Suggest).await?.items)
    }

    async fn search_in(
        &self,
        scope: &TenantScope,
        request: &SearchRequest,
        mode: Mode,
    ) -> Result<SearchResults, AppError> {
        scope.require(Action::ReadRecords)?;
        let terms = Terms::parse(&request.q);
        if terms.is_empty() {
            return Ok(SearchResults::default());
        }
        let index = self.index().await?;
        let caller = Caller { workspace: *scope.workspace(), user: *scope.user() };
        let (limit, kind, now, workspace) =
            (request.limit.clamp(1, MAX_LIMIT), request.kind, self.now(), caller.workspace);
        // Run here, like the page-sized store reads: a query is a few milliseconds of CPU at
        // most (bitsets, no scoring of broad matches), and on a two-core server the hop to the
        // blocking pool and back cost more than it spared the runtime.
        let (total, found) = run_query(&index, &terms, caller, kind, limit, now, mode)?;
        // At most MAX_LIMIT records: read in place.
        let items = self.store().workspace(scope).read_now(|txn| {
            let records = txn.records()?;
            let mut items = Vec::with_capacity(found.len());
            for (kind, id) in found {
                let hit = |(title, link), context, snippet| SearchHit { kind, id, title, context, link, snippet };
                if mode == Mode::Suggest {
                    items.extend(
                        documents::title_and_link(&records, kind, &id)?
                            .map(|t| hit(t, String::new(), Snippet::default())),
                    );
                    continue;
                }
                let Some(record) = documents::load::<Hit>(&records, kind, &id)? else { continue };
                let record = record.shown();
                let company = documents::company_name(&records, record.company_id())?;
                let context = record.context(company.clone());
                // Snippets come from the text parts; blind-index terms play no part here.
                let mut doc = record.search_doc(workspace, company, &|_, _| String::new());
                let files = txn.files_of(kind, &id)?.into_iter().map(|file| file.name).collect();
                documents::add_file_names(&mut doc, files);
                let snippet = snippet::build(&doc.parts, &terms);
                items.push(hit((doc.title, record.link()), context, snippet));
            }
            if mode == Mode::Suggest {
                tell_apart(&records, &mut items)?;
            }
            Ok(items)
        })?;
        let dropped = limit.min(total).saturating_sub(items.len());
        Ok(SearchResults { total: total.saturating_sub(dropped), items })
    }

    /// Ids of the records of `kind` whose phone number or tax id (`field`, normalised `value`)
    /// is exactly `value`, through the keyed blind index (as fresh as search: a write is found
    /// within a second). Candidates only: the caller re-reads and re-checks each record.
    pub(crate) async fn exact_matches(
        &self,
        scope: &TenantScope,
        kind: Kind,
        field: &'static str,
        value: &str,
    ) -> Result<Vec<RecordId>, AppError> {
        scope.require(Action::ReadRecords)?;
        let workspace = *scope.workspace();
        let index = self.index().await?;
        let token = index.blind(&workspace, field, value);
        tokio::task::spawn_blocking(move || {
            let text = |field, text: &str| -> Box<dyn tantivy::query::Query> {
                Box::new(TermQuery::new(tantivy::Term::from_field_text(field, text), IndexRecordOption::Basic))
            };
            let fields = &index.fields;
            let query = BooleanQuery::new(vec![
                (Occur::Must, text(fields.workspace, &workspace.to_string())),
                (Occur::Must, text(fields.kind, kind.as_str())),
                (Occur::Must, text(fields.phone, &token)),
            ]);
            let searcher = index.reader.searcher();
            let hits = searcher.search(&query, &DocSetCollector).map_err(search_error)?;
            let mut ids = Vec::with_capacity(hits.len());
            for address in hits.into_iter().take(EXACT_MATCHES_MAX) {
                let doc: TantivyDocument = searcher.doc(address).map_err(search_error)?;
                ids.extend(
                    stored_key(&index, &doc).filter(|(w, k, _)| *w == workspace && *k == kind).map(|(_, _, id)| id),
                );
            }
            Ok(ids)
        })
        .await
        .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
    }

    /// Rebuilds the index from the store (the old index answers until the new one is done);
    /// `progress` hears the number of documents indexed so far. Answers the total.
    pub async fn rebuild(&self, progress: impl Fn(usize) + Send + Sync + 'static) -> Result<usize, AppError> {
        let index = self.index().await?;
        let done = indexer::rebuild(self, &index, false, Arc::new(progress), None).await?;
        done.ok_or_else(|| AppError::internal(ErrorCode::Internal, "search rebuild cancelled"))
    }

    /// Runs the indexer until `stopped` fires (rebuilding a missing index first).
    pub fn run_indexer(&self, stopped: watch::Receiver<()>) -> impl Future<Output = ()> + Send + 'static {
        indexer::run(App::clone(self), stopped)
    }

    /// Holds (or releases) the indexer: changes then wait in the outbox. For tests and
    /// maintenance.
    pub async fn pause_indexer(&self, paused: bool) -> Result<(), AppError> {
        let index = self.index().await?;
        index.set_paused(paused);
        // Let a cycle in progress finish, so nothing is drained after this returns.
        drop(index.drain.lock().await);
        Ok(())
    }

    /// Outbox backlog and document count.
    pub async fn status(&self) -> Result<IndexStatus, AppError> {
        let index = self.index().await?;
        let backlog = self.store().read(|txn| txn.outbox_len()).await?;
        Ok(IndexStatus { backlog, documents: index.num_docs(), rebuilding: index.rebuilding.load(Ordering::SeqCst) })
    }

    /// Compares the index with the store, record by record (exact; reads everything).
    pub async fn audit(&self) -> Result<IndexAudit, AppError> {
        let index = self.index().await?;
        let in_store = self
            .store()
            .read(|txn| {
                let mut keys = HashSet::new();
                txn.each_record(|records, kind, id| {
                    keys.insert((*records.workspace(), kind, id));
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

/// Suggestions read titles alone; where two share a title, each gets its context (company,
/// email or website) so the person can tell which is which.
fn tell_apart(
    records: &RecordsTable<'_, impl ReadableTable<&'static [u8], &'static [u8]>>,
    items: &mut [SearchHit],
) -> Result<(), AppError> {
    let titles: Vec<String> = items.iter().map(|h| h.title.to_lowercase()).collect();
    for (i, hit) in items.iter_mut().enumerate() {
        let repeated = titles.iter().enumerate().any(|(j, t)| j != i && *t == titles[i]);
        if !repeated {
            continue;
        }
        if let Some(record) = documents::load::<Hit>(records, hit.kind, &hit.id)? {
            let company = documents::company_name(records, record.shown().company_id())?;
            hit.context = record.shown().context(company);
        }
    }
    Ok(())
}
