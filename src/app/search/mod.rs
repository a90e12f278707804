//! PRIVATE to `app`: the full-text index (tantivy) in `<data_dir>/search/`. The store is the
//! source of truth: the indexer drains the search outbox into the index, and the index can be
//! rebuilt from the store at any time. Queries always carry the caller's workspace and every
//! hit is re-read through the scoped store before it is shown.

mod bits;
mod documents;
mod indexer;
mod query;
mod recency;
mod schema;
mod service;
pub mod snippet;

pub use service::Search;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy};

pub use query::MAX_INPUT_CHARS;
pub use service::{BACKLOG_WARN, IndexAudit, IndexStatus, MAX_LIMIT, SearchHit, SearchRequest, SearchResults};

use crate::error::{AppError, ErrorCode};
use schema::{ANALYZER, Fields, SCHEMA_VERSION};

/// Memory the index writer may use before it flushes a segment (tantivy wants ≥ 15 MB).
const WRITER_BUDGET_BYTES: usize = 50 * 1024 * 1024;
/// The file that says which schema version the index holds, written only once the index is
/// complete (a rebuild interrupted by a crash leaves none, so the next start rebuilds again).
const VERSION_FILE: &str = "holdfast-search-version";

fn search_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(ErrorCode::StorageUnavailable, format!("search index: {e}"))
}

/// The open index: reader for queries, the one writer, and what the indexer is doing.
pub(crate) struct SearchIndex {
    dir: PathBuf,
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    /// Held from reading outbox rows until they are deleted, so no other drain (or rebuild)
    /// deletes rows in between and their sequence numbers cannot be reused meanwhile.
    drain: tokio::sync::Mutex<()>,
    /// The index was missing, corrupt or of another version: it must be rebuilt.
    needs_rebuild: AtomicBool,
    rebuilding: AtomicBool,
    /// Tests and maintenance can hold the indexer (the outbox then just grows).
    paused: AtomicBool,
    /// Documents written since start (for the health page and logs).
    indexed: AtomicU64,
    /// For the keyed blind-index terms of phone numbers and tax ids (never their plaintext).
    keyring: std::sync::Arc<crate::app::keyring::Keyring>,
    /// Each segment's documents newest first, for ordering broad queries by recency.
    recency: recency::RecencyCache,
}

impl SearchIndex {
    /// Opens the index in `dir`, or creates an empty one (marked for rebuild) when it is
    /// missing, unreadable or of another schema version.
    pub(crate) fn open(
        dir: &Path,
        keyring: std::sync::Arc<crate::app::keyring::Keyring>,
    ) -> Result<SearchIndex, AppError> {
        let (schema, fields) = schema::build();
        let existing = std::fs::read_to_string(dir.join(VERSION_FILE)).ok();
        let current = existing.as_deref().map(str::trim) == Some(SCHEMA_VERSION.to_string().as_str());
        let opened = if current { Index::open_in_dir(dir).ok().filter(|index| index.schema() == schema) } else { None };
        let needs_rebuild = opened.is_none();
        let index = match opened {
            Some(index) => index,
            None => {
                if dir.exists() {
                    std::fs::remove_dir_all(dir).map_err(search_error)?;
                }
                std::fs::create_dir_all(dir).map_err(search_error)?;
                Index::create_in_dir(dir, schema).map_err(search_error)?
            }
        };
        index.tokenizers().register(ANALYZER, schema::analyzer());
        let writer = index.writer_with_num_threads(1, WRITER_BUDGET_BYTES).map_err(search_error)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(search_error)?;
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            fields,
            reader,
            writer: Mutex::new(writer),
            drain: tokio::sync::Mutex::new(()),
            needs_rebuild: AtomicBool::new(needs_rebuild),
            rebuilding: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            indexed: AtomicU64::new(0),
            keyring,
            recency: recency::RecencyCache::default(),
        })
    }

    /// The blind-index term of a normalised phone number or tax id in `workspace`.
    fn blind(&self, workspace: &crate::domain::ids::WorkspaceId, field: &str, value: &str) -> String {
        self.keyring.blind_index(workspace, field, value)
    }

    fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Commits what the writer holds and makes it visible to queries.
    fn commit(&self, writer: &mut IndexWriter) -> Result<(), AppError> {
        if let Err(e) = writer.commit() {
            let _ = writer.rollback();
            return Err(search_error(e));
        }
        self.reader.reload().map_err(search_error)?;
        self.order_segments();
        Ok(())
    }

    /// Puts new segments in recency order now (at open and after a commit) rather than in the
    /// next query; a failure only means a query computes it later.
    fn order_segments(&self) {
        if let Err(e) = self.recency.refresh(&self.reader.searcher()) {
            tracing::warn!(code = %e.code(), detail = e.detail().unwrap_or(""), "search: recency order not computed");
        }
    }

    /// Marks the index complete (its schema version), or incomplete (`None`) before a rebuild.
    fn mark_version(&self, version: Option<u32>) -> Result<(), AppError> {
        let path = self.dir.join(VERSION_FILE);
        match version {
            Some(v) => {
                let tmp = self.dir.join(format!("{VERSION_FILE}.tmp"));
                std::fs::write(&tmp, format!("{v}\n")).map_err(search_error)?;
                std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(search_error)?;
                std::fs::rename(&tmp, &path).map_err(search_error)
            }
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(search_error(e)),
                _ => Ok(()),
            },
        }
    }

    pub(crate) fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }
}
