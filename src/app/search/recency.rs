//! The most recently changed documents of each segment, in nested tiers (the newest 1/1024,
//! 1/128 and 1/16 of it): the newest matches of a broad query are found among the few
//! documents of the narrowest tier that holds enough of them, instead of reading the change
//! time of every match (a million-contact index has queries matching 140,000 documents).
//!
//! A segment's documents and their change times never change (deletions are masked by the
//! caller), so the tiers are computed once per segment and kept until the segment is merged
//! away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::{Searcher, SegmentReader};

use super::bits::Bits;
use super::search_error;
use crate::app::error::AppError;

/// Segments smaller than this are read whole: their tiers would save nothing.
const TIERED_FROM_DOCS: u32 = 8_192;
/// Each tier holds the newest `max_doc >> shift` documents (and any tied with the last).
const TIER_SHIFTS: [u32; 3] = [10, 7, 4];

/// The change time of every document of a segment.
pub(super) fn updated_at(segment: &SegmentReader) -> Result<impl Fn(u32) -> i64 + use<>, AppError> {
    let column = segment.fast_fields().i64("updated_at").map_err(search_error)?.first_or_default_col(0);
    Ok(move |doc| column.get_val(doc))
}

/// A segment's tiers, narrowest first: tier `i` holds every document changed at or after its
/// threshold, so a document outside it is older than every document in it.
pub(super) struct Tiers(Vec<Bits>);

impl Tiers {
    fn of(segment: &SegmentReader) -> Result<Tiers, AppError> {
        let max_doc = segment.max_doc();
        if max_doc < TIERED_FROM_DOCS {
            return Ok(Tiers(Vec::new()));
        }
        let updated = updated_at(segment)?;
        let times: Vec<i64> = (0..max_doc).map(&updated).collect();
        let mut order = times.clone();
        let tiers = TIER_SHIFTS.map(|shift| {
            let newest = (max_doc >> shift) as usize;
            let (_, threshold, _) = order.select_nth_unstable_by(newest - 1, |a, b| b.cmp(a));
            let threshold = *threshold;
            let mut tier = Bits::empty(max_doc);
            times.iter().enumerate().filter(|(_, at)| **at >= threshold).for_each(|(doc, _)| tier.insert(doc as u32));
            tier
        });
        Ok(Tiers(tiers.into()))
    }

    /// The documents of `matches` in the narrowest tier holding at least `wanted` of them
    /// (`None`: no tier does, read them all). The `wanted` newest matches are among them.
    pub(super) fn narrowest(&self, matches: &Bits, wanted: usize) -> Option<Bits> {
        self.0.iter().find(|tier| matches.count_and(tier) >= wanted).map(|tier| {
            let mut newest = matches.clone();
            newest.and(tier);
            newest
        })
    }
}

/// The tiers of the segments queries have met, by segment.
#[derive(Default)]
pub(super) struct TierCache(Mutex<HashMap<SegmentId, Arc<Tiers>>>);

impl TierCache {
    /// The tiers of `segment`, computed on first use (once, under the lock: ~50 ms for a
    /// segment of two million documents).
    pub(super) fn tiers(&self, segment: &SegmentReader) -> Result<Arc<Tiers>, AppError> {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tiers) = cache.get(&segment.segment_id()) {
            return Ok(tiers.clone());
        }
        let tiers = Arc::new(Tiers::of(segment)?);
        cache.insert(segment.segment_id(), tiers.clone());
        Ok(tiers)
    }

    /// Computes the tiers of `searcher`'s new segments and forgets those merged away (after
    /// each commit, so queries rarely pay for it).
    pub(super) fn refresh(&self, searcher: &Searcher) -> Result<(), AppError> {
        let live: Vec<SegmentId> = searcher.segment_readers().iter().map(SegmentReader::segment_id).collect();
        self.0.lock().unwrap_or_else(|p| p.into_inner()).retain(|id, _| live.contains(id));
        for segment in searcher.segment_readers() {
            self.tiers(segment)?;
        }
        Ok(())
    }
}
