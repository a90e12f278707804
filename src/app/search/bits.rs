//! Broad queries without scoring every match: each word's postings (title, text, the prefix
//! terms of the word being typed) are OR-ed into one bit per document of a segment, the words
//! AND-ed, and deleted documents (and, when the index holds other workspaces, theirs) masked
//! out. That counts the matches exactly and finds the most recently changed ones in a pass over
//! bits, where scoring would cost ~100 ns per match: on a million contacts a common first name
//! matches 33,000 records and a common note word 140,000.
//!
//! Same matching rules as the exact and title passes of [`super::query`] (the fuzzy pass and
//! exact phone / tax-id lookups stay with tantivy's scorers: they match few documents).

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tantivy::query::{EnableScoring, FuzzyTermQuery, Query};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocSet, Searcher, SegmentReader, TERMINATED, Term};

use super::query::{Pass, Scope, Terms, fuzzy_distance};
use super::recency::{RecencyCache, updated_at};
use super::schema::{Fields, MAX_PREFIX_CHARS, TEXT_PREFIX_MIN_CHARS};
use super::search_error;
use crate::error::AppError;

/// One bit per document of a segment.
pub(super) struct Bits(Vec<u64>);

thread_local! {
    /// Dropped bitsets of this thread, for reuse: one of a big segment is a quarter of a
    /// megabyte, and a fresh allocation that size costs page faults on every query.
    static SPARE: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
}

/// Spare bitsets kept per thread at most (a query holds about six at once).
const SPARE_MAX: usize = 8;

impl Bits {
    fn empty(max_doc: u32) -> Bits {
        let mut words = SPARE.with(|spare| spare.borrow_mut().pop()).unwrap_or_default();
        words.clear();
        words.resize((max_doc as usize).div_ceil(64), 0);
        Bits(words)
    }

    fn insert(&mut self, doc: u32) {
        self.0[doc as usize / 64] |= 1 << (doc % 64);
    }

    pub(super) fn contains(&self, doc: u32) -> bool {
        self.0[doc as usize / 64] & (1 << (doc % 64)) != 0
    }

    fn remove(&mut self, doc: u32) {
        self.0[doc as usize / 64] &= !(1 << (doc % 64));
    }

    fn and(&mut self, other: &Bits) {
        self.0.iter_mut().zip(&other.0).for_each(|(a, b)| *a &= b);
    }

    fn and_not(&mut self, other: &Bits) {
        self.0.iter_mut().zip(&other.0).for_each(|(a, b)| *a &= !b);
    }

    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    fn docs(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().enumerate().filter(|(_, word)| **word != 0).flat_map(|(i, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros();
                    rest &= rest - 1;
                    i as u32 * 64 + bit
                })
            })
        })
    }
}

impl Clone for Bits {
    fn clone(&self) -> Bits {
        let mut copy = Bits::empty(0);
        copy.0.extend_from_slice(&self.0);
        copy
    }
}

impl Drop for Bits {
    fn drop(&mut self) {
        let words = std::mem::take(&mut self.0);
        SPARE.with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < SPARE_MAX {
                spare.push(words);
            }
        });
    }
}

/// The matches of one segment: those whose title matches every word, and (unless the pass
/// reads titles only) all of them.
struct SegmentMatches {
    titles: Bits,
    all: Option<Bits>,
}

impl SegmentMatches {
    fn and(&mut self, other: SegmentMatches) {
        self.titles.and(&other.titles);
        if let (Some(all), Some(other)) = (&mut self.all, &other.all) {
            all.and(other);
        }
    }

    /// Drops the documents for which `drop` says so (among the few matches, not the segment).
    fn drop_where(&mut self, mut drop: impl FnMut(u32) -> bool) {
        let every = self.all.as_ref().unwrap_or(&self.titles);
        let dropped: Vec<u32> = every.docs().filter(|doc| drop(*doc)).collect();
        for doc in dropped {
            self.titles.remove(doc);
            if let Some(all) = &mut self.all {
                all.remove(doc);
            }
        }
    }
}

/// ORs the postings of `term` into `bits`.
fn add_term(segment: &SegmentReader, bits: &mut Bits, field: Field, text: &str) -> Result<(), AppError> {
    let index = segment.inverted_index(field).map_err(search_error)?;
    let term = Term::from_field_text(field, text);
    if let Some(mut postings) = index.read_postings(&term, IndexRecordOption::Basic).map_err(search_error)? {
        add_docs(bits, &mut postings);
    }
    Ok(())
}

/// ORs the postings of every term of `field` that starts with `prefix` into `bits`.
fn add_prefix(segment: &SegmentReader, bits: &mut Bits, field: Field, prefix: &str) -> Result<(), AppError> {
    let index = segment.inverted_index(field).map_err(search_error)?;
    let mut end = prefix.as_bytes().to_vec();
    end.push(0xff);
    let mut terms = index.terms().range().ge(prefix.as_bytes()).lt(&end).into_stream().map_err(search_error)?;
    while terms.advance() {
        let mut postings =
            index.read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic).map_err(search_error)?;
        add_docs(bits, &mut postings);
    }
    Ok(())
}

/// ORs the documents of every term of `field` within the typo distance of `word` into `bits`
/// (tantivy's own automaton, as the scored fuzzy query uses).
fn add_fuzzy(segment: &SegmentReader, bits: &mut Bits, field: Field, word: &str) -> Result<(), AppError> {
    let query = FuzzyTermQuery::new(Term::from_field_text(field, word), fuzzy_distance(word), true);
    let weight = query.weight(EnableScoring::disabled_from_schema(segment.schema())).map_err(search_error)?;
    add_docs(bits, &mut weight.scorer(segment, 1.0).map_err(search_error)?);
    Ok(())
}

fn add_docs(bits: &mut Bits, docs: &mut (impl DocSet + ?Sized)) {
    let mut doc = docs.doc();
    while doc != TERMINATED {
        bits.insert(doc);
        doc = docs.advance();
    }
}

/// The documents of `segment` word `index` matches in `pass` (as [`super::query`]'s word
/// group does).
fn word_matches(
    segment: &SegmentReader,
    fields: &Fields,
    terms: &Terms,
    index: usize,
    pass: Pass,
) -> Result<SegmentMatches, AppError> {
    let word = &terms.words[index];
    let letters = word.chars().count();
    let typo = fuzzy_distance(word) > 0;
    let mut titles = Bits::empty(segment.max_doc());
    add_term(segment, &mut titles, fields.title, word)?;
    if terms.is_prefix(index) {
        if letters <= MAX_PREFIX_CHARS {
            add_term(segment, &mut titles, fields.title_prefix, word)?;
        } else {
            add_prefix(segment, &mut titles, fields.title, word)?;
        }
    }
    if pass == Pass::TitlesFuzzy && typo {
        add_fuzzy(segment, &mut titles, fields.title, word)?;
    }
    if pass.titles_only() {
        return Ok(SegmentMatches { titles, all: None });
    }
    let mut all = titles.clone();
    if terms.is_prefix(index) && letters >= TEXT_PREFIX_MIN_CHARS {
        if letters <= MAX_PREFIX_CHARS {
            add_term(segment, &mut all, fields.text_prefix, word)?; // the word itself included
        } else {
            add_prefix(segment, &mut all, fields.text, word)?;
        }
    } else {
        add_term(segment, &mut all, fields.text, word)?;
    }
    if pass == Pass::Fuzzy && typo {
        add_fuzzy(segment, &mut all, fields.text, word)?;
    }
    Ok(SegmentMatches { titles, all: Some(all) })
}

/// The matches of `segment`, masked to live documents of the caller's workspace and kind.
fn segment_matches(
    segment: &SegmentReader,
    fields: &Fields,
    terms: &Terms,
    scope: &Scope,
    pass: Pass,
) -> Result<SegmentMatches, AppError> {
    let mut matches = SegmentMatches {
        titles: Bits::empty(segment.max_doc()),
        all: (!pass.titles_only()).then(|| Bits::empty(segment.max_doc())),
    };
    for index in 0..terms.words.len() {
        let word = word_matches(segment, fields, terms, index, pass)?;
        if index == 0 {
            matches = word;
        } else {
            matches.and(word);
        }
    }
    // The workspace and kind terms cover up to every document: walk the (fewer) matches and
    // seek in their postings rather than reading them whole.
    let mut keep = |field: Field, text: &str| -> Result<(), AppError> {
        let index = segment.inverted_index(field).map_err(search_error)?;
        let term = Term::from_field_text(field, text);
        match index.read_postings(&term, IndexRecordOption::Basic).map_err(search_error)? {
            Some(mut postings) => {
                let mut at = postings.doc();
                matches.drop_where(|doc| {
                    if at < doc {
                        at = postings.seek(doc);
                    }
                    at != doc
                });
            }
            None => matches.drop_where(|_| true),
        }
        Ok(())
    };
    if !scope.whole_index {
        keep(fields.workspace, &scope.caller.workspace.to_string())?;
    }
    if let Some(kind) = scope.kind {
        keep(fields.kind, kind.as_str())?;
    }
    if let Some(alive) = segment.alive_bitset() {
        matches.drop_where(|doc| alive.is_deleted(doc));
    }
    Ok(matches)
}

/// How many documents match in all, and the `limit` most recently changed: those whose title
/// matches first, then the others.
pub(super) fn count_and_recent(
    searcher: &Searcher,
    recency: &RecencyCache,
    fields: &Fields,
    terms: &Terms,
    scope: &Scope,
    pass: Pass,
    limit: usize,
) -> Result<(usize, Vec<DocAddress>), AppError> {
    // (title match, updated at, address): the heap keeps the `limit` greatest.
    let mut best: BinaryHeap<Reverse<(bool, i64, DocAddress)>> = BinaryHeap::with_capacity(limit + 1);
    let mut total = 0;
    for (ordinal, segment) in searcher.segment_readers().iter().enumerate() {
        let SegmentMatches { titles, all } = segment_matches(segment, fields, terms, scope, pass)?;
        let (found, by_title) = (all.as_ref().map_or(0, Bits::count), titles.count());
        if found.max(by_title) == 0 {
            continue;
        }
        total += found.max(by_title);
        let others = all.map(|mut all| {
            all.and_not(&titles);
            (all, found - by_title)
        });
        let (newest, updated) = (recency.newest(segment)?, updated_at(segment)?);
        for (is_title, matches) in [(true, Some((titles, by_title))), (false, others)] {
            let Some((matches, count)) = matches else { continue };
            let docs: Box<dyn Iterator<Item = u32>> = match newest.first(&matches, count, limit) {
                Some(first) => Box::new(first.into_iter()),
                None => Box::new(matches.docs()),
            };
            for doc in docs {
                let entry = (is_title, updated(doc), DocAddress::new(ordinal as u32, doc));
                if best.len() < limit {
                    best.push(Reverse(entry));
                } else if best.peek().is_some_and(|Reverse(worst)| entry > *worst) {
                    best.pop();
                    best.push(Reverse(entry));
                }
            }
        }
    }
    let mut ranked: Vec<_> = best.into_iter().map(|Reverse(entry)| entry).collect();
    ranked.sort_unstable_by(|a, b| b.cmp(a));
    Ok((total, ranked.into_iter().map(|(_, _, address)| address).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::search::documents::{Part, SearchDoc};
    use crate::app::search::query::{Caller, matching};
    use crate::app::search::schema;
    use crate::domain::crm::Kind;
    use crate::domain::ids::{RecordId, UserId, WorkspaceId};
    use tantivy::collector::Count;

    /// Counts and recency order agree with tantivy's own evaluation of the same matching
    /// rules, across workspaces, kinds, prefixes, several segments and a deleted document.
    #[test]
    fn bit_counts_equal_tantivy_counts() {
        let (index, fields, mut writer) = schema::in_ram();
        let (mine, other) = (WorkspaceId::random(), WorkspaceId::random());
        let docs = [
            (mine, Kind::Contact, "Ada Lovelace", "Ada Lovelace ada@analytical.example"),
            (mine, Kind::Contact, "Adam Smith", "Adam Smith wealth of nations"),
            (mine, Kind::Note, "Call Ada", "Call Ada about the analytical engine"),
            (mine, Kind::Company, "Lovelace Engines", "Lovelace Engines analytical"),
            (other, Kind::Contact, "Ada Byron", "Ada Byron"),
            (mine, Kind::Deal, "Adapter sale", "Adapter sale to Ada"),
        ];
        let ids: Vec<RecordId> = docs.iter().map(|_| RecordId::random()).collect();
        for (at, (workspace, kind, title, text)) in docs.into_iter().enumerate() {
            let id = ids[at];
            let doc = SearchDoc {
                workspace,
                kind,
                id,
                owner: None,
                updated_at: at as i64,
                title: title.into(),
                parts: vec![Part { text: text.into() }],
                blind: Vec::new(),
            };
            writer.add_document(schema::document(&fields, &doc)).unwrap();
            if at % 2 == 1 {
                writer.commit().unwrap(); // segments of two, one of them mixing workspaces
            }
        }
        writer.delete_term(Term::from_field_text(fields.id, &ids[0].to_string()));
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        assert!(searcher.segment_readers().len() > 1);
        let caller = Caller { workspace: mine, user: UserId::random() };
        let queries = ["ada", "ada ", "ad", "adam", "lovelace", "analytical", "ada lov", "call ada", "zz", "engine"];
        for q in queries.into_iter().chain(["lovelase", "analytcal engine", "adapter", "lovela"]) {
            let terms = Terms::parse(q);
            for pass in [Pass::Exact, Pass::Fuzzy, Pass::Titles, Pass::TitlesFuzzy] {
                for kind in [None, Some(Kind::Contact)] {
                    let scope = Scope { caller, kind, whole_index: false };
                    let expected = searcher.search(&*matching(&fields, &terms, None, &scope, pass), &Count).unwrap();
                    let (total, recent) =
                        count_and_recent(&searcher, &RecencyCache::default(), &fields, &terms, &scope, pass, 10)
                            .unwrap();
                    assert_eq!(total, expected, "{q:?} {pass:?} {kind:?}");
                    assert_eq!(recent.len(), total.min(10));
                }
            }
        }
        // "ada": title matches first (newest first), then the rest; the deleted and the other
        // workspace's documents never.
        let scope = Scope { caller, kind: None, whole_index: false };
        let (total, recent) = count_and_recent(
            &searcher,
            &RecencyCache::default(),
            &fields,
            &Terms::parse("ada "),
            &scope,
            Pass::Exact,
            10,
        )
        .unwrap();
        let found: Vec<String> = recent
            .iter()
            .map(|a| {
                let doc: tantivy::TantivyDocument = searcher.doc(*a).unwrap();
                tantivy::schema::Value::as_str(&doc.get_first(fields.id).unwrap()).unwrap().to_owned()
            })
            .collect();
        assert_eq!((total, found), (2, vec![ids[2].to_string(), ids[5].to_string()]), "Call Ada, then Adapter sale");
    }

    /// Walking the recency order finds exactly the newest matches (title matches first), as
    /// a sort of every match would, ties included.
    #[test]
    fn newest_matches_equal_a_full_sort() {
        let (index, fields, mut writer) = schema::in_ram();
        let workspace = WorkspaceId::random();
        let docs = 30_000u32;
        // Change times repeat (ties are ordered too); the newest 5,000 match nothing (a bulk
        // import), so the few title matches are found by reading them all, the many others by
        // walking the recency order past the import.
        let imported = |doc: u32| doc >= 25_000;
        let updated = |doc: u32| if imported(doc) { i64::from(20_000 + doc) } else { i64::from(doc * 7_919 % 10_007) };
        let is_title = |doc: u32| doc.is_multiple_of(500) && !imported(doc);
        let is_match = |doc: u32| is_title(doc) || (doc.is_multiple_of(2) && !imported(doc));
        let ids: Vec<RecordId> = (0..docs).map(|_| RecordId::random()).collect();
        for doc in 0..docs {
            let title = if is_title(doc) { "Ada Byron" } else { "Bob Smith" };
            let text = if is_match(doc) { "ada" } else { "zed" };
            let search_doc = SearchDoc {
                workspace,
                kind: Kind::Contact,
                id: ids[doc as usize],
                owner: None,
                updated_at: updated(doc),
                title: title.into(),
                parts: vec![Part { text: text.into() }],
                blind: Vec::new(),
            };
            writer.add_document(schema::document(&fields, &search_doc)).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let doc_of: std::collections::HashMap<String, u32> =
            ids.iter().enumerate().map(|(doc, id)| (id.to_string(), doc as u32)).collect();
        let scope = Scope { caller: Caller { workspace, user: UserId::random() }, kind: None, whole_index: true };
        let recency = RecencyCache::default();
        for limit in [1, 10, 50, 60] {
            let (total, recent) =
                count_and_recent(&searcher, &recency, &fields, &Terms::parse("ada "), &scope, Pass::Exact, limit)
                    .unwrap();
            let found: Vec<(bool, i64)> = recent
                .iter()
                .map(|address| {
                    let stored: tantivy::TantivyDocument = searcher.doc(*address).unwrap();
                    let id = tantivy::schema::Value::as_str(&stored.get_first(fields.id).unwrap()).unwrap().to_owned();
                    let doc = doc_of[&id];
                    (is_title(doc), updated(doc))
                })
                .collect();
            let mut expected: Vec<(bool, i64)> =
                (0..docs).filter(|d| is_match(*d)).map(|d| (is_title(d), updated(d))).collect();
            assert_eq!(total, expected.len());
            expected.sort_unstable_by(|a, b| b.cmp(a));
            expected.truncate(limit);
            assert_eq!(found, expected, "limit {limit}");
        }
    }

    #[test]
    fn bits_count_intersect_and_list() {
        let mut a = Bits::empty(200);
        let mut b = Bits::empty(200);
        for doc in [0, 63, 64, 130, 199] {
            a.insert(doc);
        }
        for doc in [63, 130, 150] {
            b.insert(doc);
        }
        assert_eq!(a.count(), 5);
        let mut both = a.clone();
        both.and(&b);
        assert_eq!(both.docs().collect::<Vec<_>>(), [63, 130]);
        a.and_not(&b);
        assert_eq!(a.docs().collect::<Vec<_>>(), [0, 64, 199]);
    }
}
