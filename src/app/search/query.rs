//! Turns what a user typed into a tantivy query without ever parsing it as query syntax: the
//! text is cut to 200 characters, tokenized by the index's own analyzer (8 words at most), and
//! each word becomes a group of exact, (for the last word) prefix and, in a second pass only
//! when the first finds too little, fuzzy matches. Every query is limited to the caller's
//! workspace.

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::IndexRecordOption;

use super::schema::{Fields, MAX_PREFIX_CHARS, TEXT_PREFIX_MIN_CHARS, analyzer};
use crate::domain::crm::Kind;
use crate::domain::ids::{UserId, WorkspaceId};

/// Characters of user input considered at most.
pub const MAX_INPUT_CHARS: usize = 200;
/// Words of user input considered at most.
pub(crate) const MAX_WORDS: usize = 8;

/// The words (analyzed) and phone digits of a user's search.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Terms {
    pub words: Vec<String>,
    /// The blind-index field and normalised value when the whole input looks like a phone
    /// number or a tax id (found by exact value only: those fields are encrypted).
    pub exact: Option<(&'static str, String)>,
    /// The last word may be incomplete (the user is still typing it).
    pub last_is_prefix: bool,
}

impl Terms {
    pub fn parse(input: &str) -> Terms {
        let input: String = input.chars().take(MAX_INPUT_CHARS).collect();
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(&input);
        let mut words: Vec<String> = Vec::new();
        while words.len() < MAX_WORDS && stream.advance() {
            let word = stream.token().text.clone();
            if !words.contains(&word) {
                words.push(word);
            }
        }
        let exact = crate::app::crm::index_terms::exact_probe(&input).map(|probe| (probe.field, probe.lookup));
        let last_is_prefix = !input.ends_with(char::is_whitespace);
        Terms { words, exact, last_is_prefix }
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.exact.is_none()
    }

    /// Whether word `index` is matched as a prefix.
    pub fn is_prefix(&self, index: usize) -> bool {
        self.last_is_prefix && index + 1 == self.words.len() && self.words[index].chars().count() >= 2
    }
}

/// Edits allowed for a fuzzy match of a word: none below 5 letters, 1 from 5, 2 from 9.
pub(crate) fn fuzzy_distance(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Who searches, for the mandatory workspace clause and the owner boost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    pub workspace: WorkspaceId,
    pub user: UserId,
}

/// What a query is limited to: the caller's workspace and optionally one kind of record.
pub(crate) struct Scope {
    pub caller: Caller,
    pub kind: Option<Kind>,
    /// Every document of the index (deleted ones too) belongs to the caller's workspace.
    pub whole_index: bool,
}

fn term(field: tantivy::schema::Field, text: &str) -> Term {
    Term::from_field_text(field, text)
}

fn boosted(query: impl Query, boost: f32) -> (Occur, Box<dyn Query>) {
    (Occur::Should, Box::new(BoostQuery::new(Box::new(query), boost)))
}

/// How widely the words of a query may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Whole words in titles and text; the last word, while typed, also as the start of a
    /// title word (or of a text word once it has 4 letters).
    Exact,
    /// [`Pass::Exact`] plus words within the typo distance ([`fuzzy_distance`]): run only when
    /// the exact pass finds nothing, so typos cost nothing on a good query.
    Fuzzy,
    /// Suggestions: titles only, whole words or (the last word) as a prefix.
    Titles,
    /// [`Pass::Titles`] plus title words within the typo distance: suggestions when the
    /// title pass finds nothing.
    TitlesFuzzy,
}

impl Pass {
    /// Titles only (suggestions).
    pub(super) fn titles_only(self) -> bool {
        matches!(self, Pass::Titles | Pass::TitlesFuzzy)
    }

    /// The pass to run when this one finds nothing and a word could be a typo.
    pub(crate) fn fuzzy(self) -> Pass {
        if self.titles_only() { Pass::TitlesFuzzy } else { Pass::Fuzzy }
    }
}

/// The clauses one word may match by in `pass`.
fn word_group(fields: &Fields, terms: &Terms, index: usize, pass: Pass) -> BooleanQuery {
    let word = &terms.words[index];
    let freqs = IndexRecordOption::WithFreqs;
    let mut clauses = vec![boosted(TermQuery::new(term(fields.title, word), freqs), 3.0)];
    if terms.is_prefix(index) {
        let letters = word.chars().count();
        if letters <= MAX_PREFIX_CHARS {
            let prefix = TermQuery::new(term(fields.title_prefix, word), IndexRecordOption::Basic);
            clauses.push(boosted(ConstScoreQuery::new(Box::new(prefix), 1.0), 1.0));
        } else {
            clauses.push(boosted(FuzzyTermQuery::new_prefix(term(fields.title, word), 0, true), 1.0));
        }
        if !pass.titles_only() && letters >= TEXT_PREFIX_MIN_CHARS {
            let prefix: Box<dyn Query> = if letters <= MAX_PREFIX_CHARS {
                Box::new(TermQuery::new(term(fields.text_prefix, word), IndexRecordOption::Basic))
            } else {
                Box::new(FuzzyTermQuery::new_prefix(term(fields.text, word), 0, true))
            };
            clauses.push(boosted(ConstScoreQuery::new(prefix, 0.8), 1.0));
        }
    }
    if !pass.titles_only() {
        clauses.push(boosted(TermQuery::new(term(fields.text, word), freqs), 2.0));
    }
    let distance = fuzzy_distance(word);
    if distance > 0 {
        match pass {
            Pass::Fuzzy => clauses.push(boosted(FuzzyTermQuery::new(term(fields.text, word), distance, true), 0.5)),
            Pass::TitlesFuzzy => {
                clauses.push(boosted(FuzzyTermQuery::new(term(fields.title, word), distance, true), 0.5));
            }
            Pass::Exact | Pass::Titles => {}
        }
    }
    BooleanQuery::new(clauses)
}

/// Whether `pass` could find more than the exact pass did (some word may have a typo).
pub(crate) fn fuzzy_could_help(terms: &Terms) -> bool {
    terms.words.iter().any(|w| fuzzy_distance(w) > 0)
}

/// What a document must match: the workspace (unless `whole_index`: every document of the
/// index is the caller's, so the clause would only cost time), the kind if one is asked for,
/// and every word (or, for a phone number or tax id, its blind-index term `blind`, computed by
/// the caller's keyring). No boosts beyond the words' own: counting and recency ordering run
/// on this.
pub(crate) fn matching(
    fields: &Fields,
    terms: &Terms,
    blind: Option<&str>,
    scope: &Scope,
    pass: Pass,
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if !scope.whole_index {
        let workspace =
            TermQuery::new(term(fields.workspace, &scope.caller.workspace.to_string()), IndexRecordOption::Basic);
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(Box::new(workspace), 0.0))));
    }
    if let Some(kind) = scope.kind {
        let kind = TermQuery::new(term(fields.kind, kind.as_str()), IndexRecordOption::Basic);
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(Box::new(kind), 0.0))));
    }
    let words: Vec<(Occur, Box<dyn Query>)> = (0..terms.words.len())
        .map(|i| (Occur::Must, Box::new(word_group(fields, terms, i, pass)) as Box<dyn Query>))
        .collect();
    match blind {
        Some(token) if !pass.titles_only() => {
            let mut either = vec![boosted(TermQuery::new(term(fields.phone, token), IndexRecordOption::Basic), 3.0)];
            if !words.is_empty() {
                either.push((Occur::Should, Box::new(BooleanQuery::new(words))));
            }
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(either))));
        }
        _ => clauses.extend(words),
    }
    Box::new(BooleanQuery::new(clauses))
}

/// [`matching`] with the ranking boosts: the words as a phrase, and the caller's own records.
pub(crate) fn ranked(fields: &Fields, terms: &Terms, blind: Option<&str>, scope: &Scope, pass: Pass) -> Box<dyn Query> {
    let mut clauses = vec![(Occur::Must, matching(fields, terms, blind, scope, pass))];
    if terms.words.len() >= 2 && !pass.titles_only() {
        let phrase = PhraseQuery::new(terms.words.iter().map(|w| term(fields.text, w)).collect());
        clauses.push(boosted(phrase, 2.0));
    }
    let own = TermQuery::new(term(fields.owner, &scope.caller.user.to_string()), IndexRecordOption::Basic);
    clauses.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(own), 0.3))));
    Box::new(BooleanQuery::new(clauses))
}

/// The score of a hit adjusted for recency: up to +25 % for a record changed today, fading
/// over about two months.
pub(crate) fn recency_boost(score: f32, updated_at: i64, now: i64) -> f32 {
    let age_days = ((now - updated_at).max(0) as f32) / 86_400.0;
    score * (1.0 + 0.25 * (-age_days / 60.0).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::search::documents::{Part, SearchDoc};
    use crate::app::search::schema;
    use crate::domain::ids::RecordId;
    use tantivy::collector::Count;

    /// No input, however crafted, finds a document of another workspace or fails the query.
    #[test]
    fn no_input_escapes_the_callers_workspace() {
        let (index, fields, mut writer) = schema::in_ram();
        let other = WorkspaceId::random();
        let doc = SearchDoc {
            workspace: other,
            kind: Kind::Contact,
            id: RecordId::random(),
            owner: None,
            updated_at: 0,
            title: "Ada Lovelace".into(),
            parts: vec![Part { text: "Ada Lovelace ada@analytical.example".into() }],
            blind: vec!["blind-token".into()],
        };
        writer.add_document(schema::document(&fields, &doc)).unwrap();
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let count = |caller: &Caller, q: &str, pass: Pass| {
            let terms = Terms::parse(q);
            let blind = terms.exact.as_ref().map(|_| "blind-token");
            let scope = Scope { caller: *caller, kind: None, whole_index: false };
            if terms.is_empty() {
                0
            } else {
                searcher.search(&*ranked(&fields, &terms, blind, &scope, pass), &Count).unwrap()
            }
        };
        let owner = Caller { workspace: other, user: UserId::random() };
        assert_eq!(count(&owner, "lovelase", Pass::Exact), 0, "typos only in the fuzzy pass");
        assert_eq!(count(&owner, "lovelase", Pass::Fuzzy), 1);
        assert_eq!(
            (count(&owner, "lovelase", Pass::TitlesFuzzy), count(&owner, "analytcal", Pass::TitlesFuzzy)),
            (1, 0)
        );
        assert_eq!((count(&owner, "+44 20 7946 0958", Pass::Exact), count(&owner, "ada lov", Pass::Exact)), (1, 1));
        assert_eq!((count(&owner, "ada lov", Pass::Titles), count(&owner, "analytical", Pass::Titles)), (1, 0));
        let caller = Caller { workspace: WorkspaceId::random(), user: UserId::random() };
        for q in [format!("workspace:{other}"), format!("{other}"), "*".into(), "\" OR 1".into(), "ada".into()] {
            for pass in [Pass::Exact, Pass::Fuzzy, Pass::Titles, Pass::TitlesFuzzy] {
                assert_eq!(count(&caller, &q, pass), 0, "{q}");
            }
        }
        let mut runner = proptest::test_runner::TestRunner::default();
        runner
            .run(&"\\PC{0,300}", |q| {
                proptest::prop_assert_eq!(count(&caller, &q, Pass::Fuzzy), 0);
                proptest::prop_assert_eq!(count(&caller, &q, Pass::Exact), 0);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn input_is_capped_and_never_syntax() {
        let terms = Terms::parse("workspace_id:abc OR \"x\" (y) * -z");
        assert_eq!(terms.words, ["workspace", "id", "abc", "or", "x", "y", "z"]);
        assert_eq!(terms.exact, None);
        let long = "word ".repeat(2_000);
        assert_eq!(Terms::parse(&long).words, ["word"]);
        let many: String = (0..50).map(|i| format!("w{i} ")).collect();
        assert_eq!(Terms::parse(&many).words.len(), MAX_WORDS);
        assert!(Terms::parse(" * \" ( ").is_empty());
    }

    #[test]
    fn a_whole_phone_number_is_an_exact_lookup() {
        let exact = Terms::parse("+44 20 7946 0958").exact;
        assert_eq!(exact.map(|(_, digits)| digits).as_deref(), Some("9460958"), "looked up by its last seven digits");
        assert_eq!(Terms::parse("Ada 0958").exact, None);
    }

    #[test]
    fn last_word_is_a_prefix_while_typing() {
        assert!(Terms::parse("ada lov").is_prefix(1));
        assert!(!Terms::parse("ada lov ").is_prefix(1));
        assert!(!Terms::parse("ada l").is_prefix(1));
    }

    #[test]
    fn fuzziness_grows_with_length() {
        assert_eq!(fuzzy_distance("ada"), 0);
        assert_eq!(fuzzy_distance("lovelase"), 1);
        assert_eq!(fuzzy_distance("babbageian"), 2);
    }

    #[test]
    fn recent_records_rank_a_little_higher() {
        assert!(recency_boost(1.0, 1_000_000, 1_000_000) > recency_boost(1.0, 0, 1_000_000));
        assert!(recency_boost(1.0, 0, 100_000_000) < 1.01);
    }
}
