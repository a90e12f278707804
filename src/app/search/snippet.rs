//! Snippets: the part of a hit that matched, cut to a short window, with the matching words
//! marked. A snippet is a list of plain-text pieces (templates escape them as usual); the API
//! gets it as HTML that we escape ourselves, with `<mark>` around matches.

use super::documents::Part;
use super::query::{Terms, fuzzy_distance};
use super::schema::analyzer;

/// Characters of a part shown at most.
const WINDOW_CHARS: usize = 160;
/// Characters shown before the first match when the part is cut.
const LEAD_CHARS: usize = 50;

/// One piece of a snippet: text, and whether it matched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Piece {
    pub text: String,
    pub mark: bool,
}

/// The best-matching part of a record, cut and marked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Snippet {
    pub pieces: Vec<Piece>,
}

impl Snippet {
    /// Safe HTML: every piece escaped, matches wrapped in `<mark>`.
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            if piece.mark {
                out.push_str("<mark>");
                escape_into(&piece.text, &mut out);
                out.push_str("</mark>");
            } else {
                escape_into(&piece.text, &mut out);
            }
        }
        out
    }
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Levenshtein distance between `a` and `b`, giving up (answering `max + 1`) beyond `max`.
fn distance(a: &str, b: &str, max: usize) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        if current.iter().min().is_some_and(|m| *m > max) {
            return max + 1;
        }
        previous = current;
    }
    previous[b.len()]
}

/// Whether an indexed token matches one of the query's words.
fn token_matches(token: &str, terms: &Terms) -> bool {
    terms.words.iter().enumerate().any(|(i, word)| {
        token == word
            || (terms.is_prefix(i) && token.starts_with(word.as_str()))
            || distance(token, word, usize::from(fuzzy_distance(word))) <= usize::from(fuzzy_distance(word))
    })
}

/// Byte ranges of the matching words of `text`.
fn matches(part: &Part, terms: &Terms) -> Vec<(usize, usize)> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(&part.text);
    let mut out = Vec::new();
    while stream.advance() {
        let token = stream.token();
        if token_matches(&token.text, terms) {
            out.push((token.offset_from, token.offset_to));
        }
    }
    out
}

/// The byte index of the `n`th character of `text` at or after byte `from` (or the end).
fn char_boundary_after(text: &str, from: usize, n: usize) -> usize {
    text[from..].char_indices().nth(n).map_or(text.len(), |(i, _)| from + i)
}

/// The byte index `n` characters before byte `to`.
fn char_boundary_before(text: &str, to: usize, n: usize) -> usize {
    text[..to].char_indices().rev().nth(n.saturating_sub(1)).map_or(0, |(i, _)| i)
}

/// A snippet of the part with the most matching words (the first part when none match).
pub(crate) fn build(parts: &[Part], terms: &Terms) -> Snippet {
    let best = parts
        .iter()
        .map(|part| (part, matches(part, terms)))
        .enumerate()
        .max_by_key(|(i, (_, m))| (m.len(), std::cmp::Reverse(*i)))
        .map(|(_, best)| best);
    let Some((part, ranges)) = best else { return Snippet::default() };
    let text = part.text.as_str();
    let first = ranges.first().map_or(0, |r| r.0);
    let mut start =
        if text[..first].chars().count() > LEAD_CHARS { char_boundary_before(text, first, LEAD_CHARS) } else { 0 };
    if start > 0
        && let Some((at, space)) = text[start..first].char_indices().find(|(_, c)| c.is_whitespace())
    {
        start += at + space.len_utf8();
    }
    let end = char_boundary_after(text, start, WINDOW_CHARS);
    let mut pieces = Vec::new();
    let mut push = |text: &str, mark: bool| {
        if !text.is_empty() {
            pieces.push(Piece { text: text.to_owned(), mark });
        }
    };
    if start > 0 {
        push("…", false);
    }
    let mut at = start;
    for &(from, to) in ranges.iter().filter(|r| r.0 >= start && r.1 <= end) {
        push(&text[at..from], false);
        push(&text[from..to], true);
        at = to;
    }
    push(&text[at..end], false);
    if end < text.len() {
        push("…", false);
    }
    Snippet { pieces }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(text: &str) -> Part {
        Part { text: text.to_owned() }
    }

    #[test]
    fn marks_exact_fuzzy_and_prefix_matches() {
        let terms = Terms::parse("lovelase ad");
        let snippet = build(&[part("Ada Lovelace")], &terms);
        assert_eq!(snippet.to_html(), "<mark>Ada</mark> <mark>Lovelace</mark>");
    }

    #[test]
    fn escapes_everything_but_the_marks() {
        let terms = Terms::parse("script");
        let snippet = build(&[part("<script>alert('x')</script> & \"more\"")], &terms);
        assert_eq!(
            snippet.to_html(),
            "&lt;<mark>script</mark>&gt;alert(&#39;x&#39;)&lt;/<mark>script</mark>&gt; &amp; &quot;more&quot;"
        );
    }

    #[test]
    fn picks_the_best_part_and_cuts_long_text() {
        let long = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
        let snippet = build(&[part("Nobody"), part(&long)], &Terms::parse("needle"));
        let html = snippet.to_html();
        assert!(html.starts_with('…') && html.ends_with('…') && html.contains("<mark>needle</mark>"), "{html}");
        assert!(html.chars().count() < WINDOW_CHARS + 40, "{html}");
    }

    proptest::proptest! {
        /// No text and no query make a snippet panic (cuts land on character boundaries), and
        /// the HTML never carries a tag but `<mark>`.
        #[test]
        fn any_text_and_query_make_a_safe_snippet(text in "\\PC{0,400}", query in "\\PC{0,40}") {
            let snippet = build(&[Part { text }], &Terms::parse(&query));
            let html = snippet.to_html().replace("<mark>", "").replace("</mark>", "");
            proptest::prop_assert!(!html.contains('<') && !html.contains('>'));
        }
    }

    #[test]
    fn distance_is_levenshtein() {
        assert_eq!(distance("lovelace", "lovelase", 2), 1);
        assert_eq!(distance("kitten", "sitting", 5), 3);
        assert_eq!(distance("abc", "abcdefgh", 2), 3);
    }
}
