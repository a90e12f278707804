//! The secondary indexes of CRM records and how their terms are spelt. Text terms end with a
//! 0 byte (text never contains one), so a term is never a prefix of another term's rows.

use crate::domain::crm::sort_key;
use crate::domain::ids::{RecordId, UserId};

pub const NAME: u8 = 1;
pub const TAG: u8 = 2;
pub const OWNER: u8 = 3;
pub const STATUS: u8 = 4;
pub const COMPANY: u8 = 5;
pub const STAGE: u8 = 6;
pub const EMAIL: u8 = 7;
pub const CREATED: u8 = 8;
pub const SUBJECT: u8 = 9;
pub const ASSIGNEE: u8 = 10;
pub const CONTACT: u8 = 11;
pub const DUE: u8 = 12;
/// Exact lookups of sealed fields (contacts, companies): these are not store indexes (the
/// keyed blind index lives in the search index); store version 4 had index rows under them.
pub const PHONE: u8 = 13;
pub const TAX_ID: u8 = 14;
/// Contacts by name in either order ("ada andersen", "andersen ada"): name searches.
pub const NAME_FORMS: u8 = 15;

/// Blind-index field names (part of the HMAC input: changing one changes every entry).
pub const PHONE_FIELD: &str = "phone";
pub const TAX_ID_FIELD: &str = "tax_id";

/// A phone number as the blind index sees it: its digits, without an extension.
pub fn phone_digits(number: &str) -> String {
    let lower = number.to_lowercase();
    let main = lower.split(['x', 'e']).next().unwrap_or_default();
    main.chars().filter(char::is_ascii_digit).collect()
}

/// A tax id as the blind index sees it: letters and digits, upper-case.
pub fn tax_id_normalised(tax_id: &str) -> String {
    tax_id.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// The fewest trailing digits a phone search may give: a subscriber number without its area
/// or country code.
pub const PHONE_SEARCH_MIN_DIGITS: usize = 7;

/// The blind-index values of a stored phone number: every ending of its digits of at least
/// [`PHONE_SEARCH_MIN_DIGITS`], the whole number included, so "555 000 1218", "5550001218" and
/// "0612345678" (national form of +31 6 1234 5678) find it.
pub fn phone_search_terms(number: &str) -> Vec<String> {
    let digits = phone_digits(number);
    (0..=digits.len().saturating_sub(PHONE_SEARCH_MIN_DIGITS)).map(|start| digits[start..].to_owned()).collect()
}

/// The digits of a phone number or phone query as matched: a leading international `00` or
/// national trunk `0` is dropped when seven digits or more remain (else the `0` is part of it).
pub fn phone_query_digits(query: &str) -> String {
    let digits = phone_digits(query);
    let bare = digits.strip_prefix("00").or_else(|| digits.strip_prefix('0')).unwrap_or(&digits);
    if bare.len() >= PHONE_SEARCH_MIN_DIGITS { bare.to_owned() } else { digits }
}

/// Whether a stored number and a phone query (its [`phone_query_digits`]) are the same phone:
/// one ends with the other, so "020 7946 0958" and "+44 20 7946 0958" match either way round.
pub fn phone_matches(number: &str, query_digits: &str) -> bool {
    let stored = phone_query_digits(number);
    query_digits.len() >= PHONE_SEARCH_MIN_DIGITS
        && stored.len() >= PHONE_SEARCH_MIN_DIGITS
        && (stored.ends_with(query_digits) || query_digits.ends_with(stored.as_str()))
}

/// An exact lookup of a sealed field: which one, the blind-index value candidates are found by,
/// and the value the opened records are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub index: u8,
    pub field: &'static str,
    /// For a phone, its last seven digits: an ending every stored match has a blind entry for.
    pub lookup: String,
    pub value: String,
}

/// Which exact lookup a list query asks for: a phone number (only phone characters, at least
/// seven digits, matched by its ending) or a tax id (one word of letters, digits and `-./`,
/// with a digit). Names and emails go on to their own plans.
pub fn exact_probe(q: &str) -> Option<Probe> {
    let q = q.trim();
    let digits = q.chars().filter(char::is_ascii_digit).count();
    if digits >= PHONE_SEARCH_MIN_DIGITS && q.chars().all(|c| c.is_ascii_digit() || "+()-./ ".contains(c)) {
        let value = phone_query_digits(q);
        let lookup = value[value.len() - PHONE_SEARCH_MIN_DIGITS..].to_owned();
        return Some(Probe { index: PHONE, field: PHONE_FIELD, lookup, value });
    }
    let word = q.chars().all(|c| c.is_ascii_alphanumeric() || "-./".contains(c));
    (word && digits >= 1 && q.len() >= 4).then(|| {
        let value = tax_id_normalised(q);
        Probe { index: TAX_ID, field: TAX_ID_FIELD, lookup: value.clone(), value }
    })
}

/// Builds a term from parts.
#[derive(Default)]
pub struct Term(Vec<u8>);

impl Term {
    pub fn new() -> Term {
        Term(Vec::with_capacity(64))
    }

    pub fn text(mut self, text: &str) -> Term {
        self.0.extend_from_slice(text.as_bytes());
        self.0.push(0);
        self
    }

    /// The sort form of a display name (lower-case, bounded).
    pub fn name(self, name: &str) -> Term {
        let key = sort_key(name);
        self.text(&key)
    }

    pub fn user(mut self, id: &UserId) -> Term {
        self.0.extend_from_slice(id.as_bytes());
        self
    }

    pub fn record(mut self, id: &RecordId) -> Term {
        self.0.extend_from_slice(id.as_bytes());
        self
    }

    pub fn byte(mut self, b: u8) -> Term {
        self.0.push(b);
        self
    }

    /// A time or day number, ordered correctly for negative values too.
    pub fn number(mut self, n: i64) -> Term {
        self.0.extend_from_slice(&((n as u64) ^ (1 << 63)).to_be_bytes());
        self
    }

    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

/// A name-prefix term for `q` (no terminating 0: matches every name starting with it).
pub fn name_prefix(q: &str) -> Vec<u8> {
    sort_key(q).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_found_by_their_ending_in_any_usual_form() {
        let found = |stored: &str, query: &str| {
            let probe = exact_probe(query).unwrap();
            phone_search_terms(stored).contains(&probe.lookup) && phone_matches(stored, &probe.value)
        };
        for query in ["+31 6 1234 5678", "0612345678", "0031 6 12345678", "12345678", "2345678"] {
            assert!(found("+31 6 1234 5678", query), "{query}");
        }
        assert!(!phone_matches("+31 6 1234 5678", &phone_query_digits("345678")), "six digits are too few");
        assert!(found("+1 555 000 1218", "555 000 1218") && found("+1 555 000 1218", "5550001218"));
        assert!(found("020 7946 0958", "+44 20 7946 0958"), "national form stored, international typed");
        assert!(found("+44 20 7946 0958", "020 7946 0958"), "international stored, national typed");
        assert!(found("012 3456", "012-3456"), "a short local number keeps its 0");
        assert!(!found("+44 20 7946 0958", "+44 20 7946 0959"));
    }

    #[test]
    fn numbers_sort_in_order_and_text_terms_are_terminated() {
        let n = |v| Term::new().number(v).done();
        assert!(n(-5) < n(0) && n(0) < n(7) && n(7) < n(i64::MAX));
        assert_eq!(Term::new().text("vip").done(), b"vip\0");
        assert!(Term::new().name("Ada").done().starts_with(&name_prefix("AD")));
    }

    #[test]
    fn exact_probes_tell_phones_from_tax_ids_and_names() {
        let phone = |lookup: &str, value: &str| Probe {
            index: PHONE,
            field: PHONE_FIELD,
            lookup: lookup.into(),
            value: value.into(),
        };
        assert_eq!(exact_probe("+44 (20) 7946-0000"), Some(phone("9460000", "442079460000")));
        assert_eq!(exact_probe("012-3456"), Some(phone("0123456", "0123456")), "a 0 that belongs to the number");
        let tax = Probe { index: TAX_ID, field: TAX_ID_FIELD, lookup: "DE123456".into(), value: "DE123456".into() };
        assert_eq!(exact_probe("de-123.456"), Some(tax));
        assert_eq!(exact_probe("Ada"), None);
        assert_eq!(exact_probe("ada@example.com"), None);
        assert_eq!(exact_probe("12"), None);
        assert_eq!(phone_digits("+1 555 0100 ext. 12"), "15550100");
    }
}
