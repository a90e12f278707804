//! Each segment's documents in order of their last change, newest first: the newest matches
//! of a broad query are found by walking that order and testing each document against the
//! matches (a bit test) until enough are found, instead of reading the change time of every
//! match (a million-contact index has queries matching 140,000 documents).
//!
//! A segment's documents and their change times never change (deletions are masked by the
//! caller), so the order is computed once per segment and kept until the segment is merged
//! away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::{Searcher, SegmentReader};

use super::bits::Bits;
use super::search_error;
use crate::error::AppError;

/// Testing a document against the matches costs about this many times less than reading a
/// match's change time: walking further than that many times the matches is not worth it.
const WALK_PER_READ: usize = 4;

/// The change time of every document of a segment.
pub(super) fn updated_at(segment: &SegmentReader) -> Result<impl Fn(u32) -> i64 + use<>, AppError> {
    let column = segment.fast_fields().i64("updated_at").map_err(search_error)?.first_or_default_col(0);
    Ok(move |doc| column.get_val(doc))
}

/// A segment's document ids by last change, newest first (ties: the higher id first, as the
/// ranking orders them).
pub(super) struct Newest(Vec<u32>);

impl Newest {
    fn of(segment: &SegmentReader) -> Result<Newest, AppError> {
        let updated = updated_at(segment)?;
        let mut docs: Vec<(i64, u32)> = (0..segment.max_doc()).map(|doc| (updated(doc), doc)).collect();
        docs.sort_unstable_by(|a, b| b.cmp(a));
        Ok(Newest(docs.into_iter().map(|(_, doc)| doc).collect()))
    }

    /// The `wanted` newest documents of `matches` (`count` of them), newest first; `None` when
    /// the walk would cost more than reading the change time of every match.
    pub(super) fn first(&self, matches: &Bits, count: usize, wanted: usize) -> Option<Vec<u32>> {
        let budget = count.saturating_mul(WALK_PER_READ);
        let mut found = Vec::with_capacity(wanted.min(count));
        for doc in self.0.iter().copied().take(budget) {
            if matches.contains(doc) {
                found.push(doc);
                if found.len() == wanted {
                    return Some(found);
                }
            }
        }
        (budget >= self.0.len()).then_some(found)
    }
}

/// The recency order of the segments queries have met, by segment.
#[derive(Default)]
pub(super) struct RecencyCache(Mutex<HashMap<SegmentId, Arc<Newest>>>);

impl RecencyCache {
    /// The order of `segment`, computed on first use (~0.2 s for a segment of two million
    /// documents) outside the lock: queries run on runtime threads and must not wait on it.
    pub(super) fn newest(&self, segment: &SegmentReader) -> Result<Arc<Newest>, AppError> {
        let cached = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&segment.segment_id()).cloned();
        if let Some(newest) = cached {
            return Ok(newest);
        }
        let newest = Arc::new(Newest::of(segment)?);
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Ok(cache.entry(segment.segment_id()).or_insert(newest).clone())
    }

    /// Orders `searcher`'s new segments and forgets those merged away (after each commit, so
    /// queries rarely pay for it).
    pub(super) fn refresh(&self, searcher: &Searcher) -> Result<(), AppError> {
        let live: Vec<SegmentId> = searcher.segment_readers().iter().map(SegmentReader::segment_id).collect();
        self.0.lock().unwrap_or_else(|p| p.into_inner()).retain(|id, _| live.contains(id));
        for segment in searcher.segment_readers() {
            self.newest(segment)?;
        }
        Ok(())
    }
}
