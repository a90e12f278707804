//! Broad queries without scoring every match: each word's postings (title, text, the prefix
//! terms of the word being typed) are OR-ed into one bit per document of a segment, the words
//! AND-ed, and deleted documents (and, when the index holds other workspaces, theirs) masked
//! out. That counts the matches exactly and finds the most recently changed ones in a pass over
//! bits, where scoring would cost ~100 ns per match: on a million contacts a common first name
//! matches 33,000 records and a common note word 140,000.
//!
//! Same matching rules as the exact and title passes of [`super::query`] (the fuzzy pass and
//! exact phone / tax-id lookups stay with tantivy's scorers: they match few documents).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tantivy::postings::Postings;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocSet, Searcher, SegmentReader, TERMINATED, Term};

use super::query::{Pass, Scope, TEXT_PREFIX_MIN_CHARS, Terms};
use super::schema::{Fields, MAX_PREFIX_CHARS};
use super::search_error;
use crate::app::error::AppError;

/// One bit per document of a segment.
struct Bits(Vec<u64>);

impl Bits {
    fn empty(max_doc: u32) -> Bits {
        Bits(vec![0; (max_doc as usize).div_ceil(64)])
    }

    fn insert(&mut self, doc: u32) {
        self.0[doc as usize / 64] |= 1 << (doc % 64);
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
        self.0.iter().enumerate().flat_map(|(i, &word)| {
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

/// The matches of one segment: all of them, and those whose title matches every word.
struct SegmentMatches {
    all: Bits,
    titles: Bits,
}

/// ORs the postings of `term` into `bits`.
fn add_term(segment: &SegmentReader, bits: &mut Bits, field: Field, text: &str) -> Result<(), AppError> {
    let index = segment.inverted_index(field).map_err(search_error)?;
    let term = Term::from_field_text(field, text);
    if let Some(mut postings) = index.read_postings(&term, IndexRecordOption::Basic).map_err(search_error)? {
        add_postings(bits, &mut postings);
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
        add_postings(bits, &mut postings);
    }
    Ok(())
}

fn add_postings(bits: &mut Bits, postings: &mut impl Postings) {
    let mut doc = postings.doc();
    while doc != TERMINATED {
        bits.insert(doc);
        doc = postings.advance();
    }
}

/// The documents of `segment` word `index` matches in `pass`: `(all, by title)`.
fn word_bits(
    segment: &SegmentReader,
    fields: &Fields,
    terms: &Terms,
    index: usize,
    pass: Pass,
) -> Result<(Bits, Bits), AppError> {
    let word = &terms.words[index];
    let mut titles = Bits::empty(segment.max_doc());
    add_term(segment, &mut titles, fields.title, word)?;
    let letters = word.chars().count();
    if terms.is_prefix(index) {
        if letters <= MAX_PREFIX_CHARS {
            add_term(segment, &mut titles, fields.title_prefix, word)?;
        } else {
            add_prefix(segment, &mut titles, fields.title, word)?;
        }
    }
    if pass.titles_only() {
        return Ok((Bits(titles.0.clone()), titles));
    }
    let mut all = Bits(titles.0.clone());
    if terms.is_prefix(index) && letters >= TEXT_PREFIX_MIN_CHARS {
        add_prefix(segment, &mut all, fields.text, word)?; // the word itself included
    } else {
        add_term(segment, &mut all, fields.text, word)?;
    }
    Ok((all, titles))
}

/// The matches of `segment`, masked to live documents of the caller's workspace and kind.
fn segment_matches(
    segment: &SegmentReader,
    fields: &Fields,
    terms: &Terms,
    scope: &Scope,
    pass: Pass,
) -> Result<SegmentMatches, AppError> {
    let mut matches: Option<SegmentMatches> = None;
    for index in 0..terms.words.len() {
        let (all, titles) = word_bits(segment, fields, terms, index, pass)?;
        match &mut matches {
            None => matches = Some(SegmentMatches { all, titles }),
            Some(m) => {
                m.all.and(&all);
                m.titles.and(&titles);
            }
        }
    }
    let empty = || Bits::empty(segment.max_doc());
    let mut m = matches.unwrap_or_else(|| SegmentMatches { all: empty(), titles: empty() });
    // The workspace and kind terms cover up to every document: walk the (fewer) matches and
    // seek in their postings rather than reading them whole.
    let mut keep = |field: Field, text: &str| -> Result<(), AppError> {
        let index = segment.inverted_index(field).map_err(search_error)?;
        let term = Term::from_field_text(field, text);
        let mut kept = empty();
        if let Some(mut postings) = index.read_postings(&term, IndexRecordOption::Basic).map_err(search_error)? {
            let mut at = postings.doc();
            for doc in m.all.docs() {
                if at < doc {
                    at = postings.seek(doc);
                }
                if at == doc {
                    kept.insert(doc);
                }
            }
        }
        m.all.and(&kept);
        m.titles.and(&kept);
        Ok(())
    };
    if !scope.whole_index {
        keep(fields.workspace, &scope.caller.workspace.to_string())?;
    }
    if let Some(kind) = scope.kind {
        keep(fields.kind, kind.as_str())?;
    }
    if let Some(alive) = segment.alive_bitset() {
        let mut deleted = empty();
        m.all.docs().filter(|doc| alive.is_deleted(*doc)).for_each(|doc| deleted.insert(doc));
        m.all.and_not(&deleted);
        m.titles.and_not(&deleted);
    }
    Ok(m)
}

/// How many documents match in all, and the `limit` most recently changed: those whose title
/// matches first, then the others.
pub(super) fn count_and_recent(
    searcher: &Searcher,
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
        let mut m = segment_matches(segment, fields, terms, scope, pass)?;
        total += m.all.count();
        let updated = segment.fast_fields().i64("updated_at").map_err(search_error)?.first_or_default_col(0);
        m.all.and_not(&m.titles);
        for (is_title, bits) in [(true, &m.titles), (false, &m.all)] {
            for doc in bits.docs() {
                let entry = (is_title, updated.get_val(doc), DocAddress::new(ordinal as u32, doc));
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
        for q in ["ada", "ada ", "ad", "adam", "lovelace", "analytical", "ada lov", "call ada", "zz", "engine"] {
            let terms = Terms::parse(q);
            for pass in [Pass::Exact, Pass::Titles] {
                for kind in [None, Some(Kind::Contact)] {
                    let scope = Scope { caller, kind, whole_index: false };
                    let expected = searcher.search(&*matching(&fields, &terms, None, &scope, pass), &Count).unwrap();
                    let (total, recent) = count_and_recent(&searcher, &fields, &terms, &scope, pass, 10).unwrap();
                    assert_eq!(total, expected, "{q:?} {pass:?} {kind:?}");
                    assert_eq!(recent.len(), total.min(10));
                }
            }
        }
        // "ada": title matches first (newest first), then the rest; the deleted and the other
        // workspace's documents never.
        let scope = Scope { caller, kind: None, whole_index: false };
        let (total, recent) =
            count_and_recent(&searcher, &fields, &Terms::parse("ada "), &scope, Pass::Exact, 10).unwrap();
        let found: Vec<String> = recent
            .iter()
            .map(|a| {
                let doc: tantivy::TantivyDocument = searcher.doc(*a).unwrap();
                tantivy::schema::Value::as_str(&doc.get_first(fields.id).unwrap()).unwrap().to_owned()
            })
            .collect();
        assert_eq!((total, found), (2, vec![ids[2].to_string(), ids[5].to_string()]), "Call Ada, then Adapter sale");
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
        let mut both = Bits(a.0.clone());
        both.and(&b);
        assert_eq!(both.docs().collect::<Vec<_>>(), [63, 130]);
        a.and_not(&b);
        assert_eq!(a.docs().collect::<Vec<_>>(), [0, 64, 199]);
    }
}
