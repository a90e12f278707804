//! The index's schema, its version, and the one analyzer that tokenizes both the indexed text
//! and the user's query (split on non-alphanumerics, lower-cased, accents folded).

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};

use super::documents::SearchDoc;

/// Bumped whenever the schema, the analyzer or what a document holds changes: an index of
/// another version is rebuilt from the store at start.
pub(super) const SCHEMA_VERSION: u32 = 5;

/// The name the analyzer is registered under in the index.
pub(super) const ANALYZER: &str = "holdfast";

/// Tokens longer than this (in bytes) are dropped: nobody types them, and they bloat the index.
const MAX_TOKEN_BYTES: usize = 40;

/// Words are indexed by each of their prefixes up to this many characters, so an unfinished
/// word is one term lookup (longer prefixes go through the term dictionary).
pub(super) const MAX_PREFIX_CHARS: usize = 12;
/// Title words are indexed by their prefixes from this many characters.
const TITLE_PREFIX_MIN_CHARS: usize = 2;
/// Letters the last word needs before it is also matched as the start of a text word (shorter
/// prefixes of names, emails, websites and notes would match too much to be useful).
pub(super) const TEXT_PREFIX_MIN_CHARS: usize = 4;

/// The fields of a search document.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields {
    /// Workspace id (hex): every query carries it as a mandatory clause.
    pub workspace: Field,
    pub kind: Field,
    /// Record id (hex): the delete key and what a hit is hydrated from.
    pub id: Field,
    /// Owner, assignee or author (hex): a small boost for the caller's own records.
    pub owner: Field,
    /// The record's display name, boosted.
    pub title: Field,
    /// Prefixes of the title's words (2 to [`MAX_PREFIX_CHARS`] characters), for as-you-type.
    pub title_prefix: Field,
    /// Every searchable text of the record (names, emails, company, tags, notes …).
    pub text: Field,
    /// Prefixes of the text's words ([`TEXT_PREFIX_MIN_CHARS`] to [`MAX_PREFIX_CHARS`]
    /// characters): a typed "northwind" would otherwise walk the 10,000 website words it starts.
    pub text_prefix: Field,
    /// Keyed blind-index terms of phone numbers and tax ids: exact lookups, never plaintext.
    pub phone: Field,
    /// Last change (Unix seconds): recent records rank a little higher.
    pub updated_at: Field,
}

/// The schema and its fields.
pub(super) fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(ANALYZER).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        workspace: builder.add_text_field("workspace", STRING | STORED),
        kind: builder.add_text_field("kind", STRING | STORED),
        id: builder.add_text_field("id", STRING | STORED),
        owner: builder.add_text_field("owner", STRING),
        title: builder.add_text_field("title", text_options.clone()),
        title_prefix: builder.add_text_field("title_prefix", STRING),
        text: builder.add_text_field("text", text_options),
        text_prefix: builder.add_text_field("text_prefix", STRING),
        phone: builder.add_text_field("phone", STRING),
        updated_at: builder.add_i64_field("updated_at", INDEXED | FAST),
    };
    (builder.build(), fields)
}

/// The analyzer of indexed text and queries alike.
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The distinct prefixes (`min_chars` to [`MAX_PREFIX_CHARS`] characters) of the analyzed
/// words of `texts`.
fn word_prefixes<'a>(texts: impl IntoIterator<Item = &'a str>, min_chars: usize) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut out = Vec::new();
    for text in texts {
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let word = &stream.token().text;
            for (at, c) in word.char_indices().skip(min_chars - 1).take(MAX_PREFIX_CHARS + 1 - min_chars) {
                out.push(word[..at + c.len_utf8()].to_owned());
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// An empty index in memory with its analyzer and a writer, for tests.
#[cfg(test)]
pub(super) fn in_ram() -> (tantivy::Index, Fields, tantivy::IndexWriter) {
    let (schema, fields) = build();
    let index = tantivy::Index::create_in_ram(schema);
    index.tokenizers().register(ANALYZER, analyzer());
    let writer = index.writer_with_num_threads(1, 15_000_000).expect("an in-memory writer");
    (index, fields, writer)
}

/// The tantivy document of a record.
pub(super) fn document(fields: &Fields, doc: &SearchDoc) -> TantivyDocument {
    let mut out = TantivyDocument::default();
    out.add_text(fields.workspace, doc.workspace.to_string());
    out.add_text(fields.kind, doc.kind.as_str());
    out.add_text(fields.id, doc.id.to_string());
    if let Some(owner) = doc.owner {
        out.add_text(fields.owner, owner.to_string());
    }
    out.add_text(fields.title, &doc.title);
    for prefix in word_prefixes([doc.title.as_str()], TITLE_PREFIX_MIN_CHARS) {
        out.add_text(fields.title_prefix, prefix);
    }
    for part in &doc.parts {
        out.add_text(fields.text, &part.text);
    }
    for prefix in word_prefixes(doc.parts.iter().map(|p| p.text.as_str()), TEXT_PREFIX_MIN_CHARS) {
        out.add_text(fields.text_prefix, prefix);
    }
    for term in &doc.blind {
        out.add_text(fields.phone, term);
    }
    out.add_i64(fields.updated_at, doc.updated_at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn folds_case_and_accents_and_splits_emails() {
        assert_eq!(tokens("Zoë Ångström"), ["zoe", "angstrom"]);
        assert_eq!(tokens("ada.lovelace@example.com"), ["ada", "lovelace", "example", "com"]);
        assert_eq!(tokens("workspace:abc \"x\" OR (y) *"), ["workspace", "abc", "x", "or", "y"]);
    }

    #[test]
    fn words_are_indexed_by_their_prefixes() {
        assert_eq!(word_prefixes(["Zoë Ab"], TITLE_PREFIX_MIN_CHARS), ["ab", "zo", "zoe"]);
        let long = word_prefixes(["Abcdefghijklmnop"], TITLE_PREFIX_MIN_CHARS);
        assert_eq!(long.len(), MAX_PREFIX_CHARS - 1);
        assert_eq!(long.last().map(String::len), Some(MAX_PREFIX_CHARS));
        let text = word_prefixes(["Ada northwindltd1.example", "ada"], TEXT_PREFIX_MIN_CHARS);
        assert_eq!(text.first().map(String::as_str), Some("exam"));
        assert!(text.contains(&"northwindltd".to_owned()) && !text.contains(&"northwindltd1".to_owned()));
        assert!(!text.iter().any(|p| p.starts_with("ada")), "words shorter than 4 letters have none");
    }
}
