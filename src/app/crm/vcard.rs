//! vCard 4.0 (RFC 6350) of contacts: escaped text values, CRLF line ends, lines folded at 75
//! octets, and a `UID` derived from the record id.

use crate::domain::crm::Contact;

/// Escapes a text value: backslash, comma, semicolon and line breaks (RFC 6350 §3.4).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so no line exceeds 75 octets (continuations start with a
/// space and are cut on character boundaries).
fn push_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = 75;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = 74;
    }
}

/// A `TYPE` parameter from a stored channel kind (only plain words survive; `mobile` is
/// vCard's `cell`).
fn type_param(kind: &str) -> String {
    let kind = if kind == "mobile" { "cell" } else { kind };
    if !kind.is_empty() && kind.len() <= 20 && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        format!(";TYPE={kind}")
    } else {
        String::new()
    }
}

/// The record id as a UUID (`8-4-4-4-12` hex).
fn uuid(id: &str) -> String {
    if id.len() != 32 {
        return id.to_owned();
    }
    format!("{}-{}-{}-{}-{}", &id[..8], &id[8..12], &id[12..16], &id[16..20], &id[20..])
}

/// One contact as a vCard; `company` is the name of its company, if any.
pub fn contact(contact: &Contact, company: Option<&str>) -> String {
    let mut out = String::new();
    let mut line = |text: String| push_line(&mut out, &text);
    line("BEGIN:VCARD".into());
    line("VERSION:4.0".into());
    line(format!("UID:urn:uuid:{}", uuid(&contact.id.to_string())));
    line(format!("FN:{}", escape(&contact.full_name())));
    line(format!("N:{};{};;;", escape(&contact.last_name), escape(&contact.first_name)));
    for email in &contact.emails {
        line(format!("EMAIL{}:{}", type_param(&email.kind), escape(&email.address)));
    }
    for phone in &contact.phones {
        line(format!("TEL{}:{}", type_param(&phone.kind), escape(&phone.number)));
    }
    if let Some(company) = company.filter(|c| !c.is_empty()) {
        line(format!("ORG:{}", escape(company)));
    }
    if let Some(title) = contact.title.as_deref().filter(|t| !t.is_empty()) {
        line(format!("TITLE:{}", escape(title)));
    }
    let a = &contact.address;
    if !a.one_line().is_empty() {
        let parts = [&a.street, &a.city, &a.region, &a.postal_code, &a.country].map(|p| escape(p));
        line(format!("ADR:;;{}", parts.join(";")));
    }
    if !contact.background.is_empty() {
        line(format!("NOTE:{}", escape(&contact.background)));
    }
    if let Some(day) = &contact.date_of_birth {
        line(format!("BDAY:{}", day.to_string().replace('-', "")));
    }
    let rev = time::OffsetDateTime::from_unix_timestamp(contact.stamp.updated_at)
        .ok()
        .and_then(|t| t.format(time::macros::format_description!("[year][month][day]T[hour][minute][second]Z")).ok());
    if let Some(rev) = rev {
        line(format!("REV:{rev}"));
    }
    line("END:VCARD".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::crm::{Address, ContactInput, EmailEntry, PhoneEntry};
    use crate::domain::ids::{RecordId, UserId};

    /// Unfolds content lines and splits a value on unescaped `;`, unescaping each part.
    fn unfold(card: &str) -> Vec<String> {
        assert!(card.ends_with("\r\n"));
        let mut lines: Vec<String> = Vec::new();
        for raw in card.trim_end_matches("\r\n").split("\r\n") {
            assert!(raw.len() <= 75, "line longer than 75 octets: {raw:?}");
            assert!(!raw.contains('\n') && !raw.contains('\r'), "bare line break");
            match raw.strip_prefix(' ') {
                Some(rest) => lines.last_mut().expect("continuation after a line").push_str(rest),
                None => lines.push(raw.to_owned()),
            }
        }
        lines
    }

    fn components(value: &str) -> Vec<String> {
        let (mut parts, mut current, mut chars) = (Vec::new(), String::new(), value.chars());
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => current.push('\n'),
                    Some(other) => current.push(other),
                    None => panic!("dangling backslash"),
                },
                ';' => parts.push(std::mem::take(&mut current)),
                ',' => panic!("unescaped comma in {value:?}"),
                c => current.push(c),
            }
        }
        parts.push(current);
        parts
    }

    #[test]
    fn special_characters_are_escaped_and_long_lines_folded() {
        let input = ContactInput {
            first_name: Some("Ann; Marie".into()),
            last_name: Some("O'Neil, Jr.".into()),
            title: Some("Head of \\ things".into()),
            emails: Some(vec![EmailEntry { address: "ann@example.com".into(), kind: "work".into() }]),
            phones: Some(vec![PhoneEntry { number: "+44 20 7946 0000".into(), kind: "mobile".into() }]),
            address: Some(Address {
                street: "1 Long Road; Flat 2".into(),
                city: "Zürich".into(),
                ..Default::default()
            }),
            background: Some(format!("Met at a fair,\nlikes tea; {}", "é".repeat(80))),
            date_of_birth: Some("1980-02-29".into()),
            ..Default::default()
        };
        let (person, _) = Contact::create(RecordId::random(), input, UserId::random(), 1_700_000_000).unwrap();
        let card = contact(&person, Some("Acme; Sons"));
        let lines = unfold(&card);
        assert_eq!(lines.first().unwrap(), "BEGIN:VCARD");
        assert_eq!(lines[1], "VERSION:4.0");
        assert_eq!(lines.last().unwrap(), "END:VCARD");
        let value = |name: &str| {
            let line = lines.iter().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} missing"));
            line.split_once(':').unwrap().1.to_owned()
        };
        assert_eq!(components(&value("FN:")), ["Ann; Marie O'Neil, Jr."]);
        assert_eq!(components(&value("N:")), ["O'Neil, Jr.", "Ann; Marie", "", "", ""]);
        assert_eq!(components(&value("ORG:")), ["Acme; Sons"]);
        assert_eq!(components(&value("TITLE:")), ["Head of \\ things"]);
        assert_eq!(components(&value("NOTE:")), [format!("Met at a fair,\nlikes tea; {}", "é".repeat(80))]);
        assert_eq!(components(&value("ADR:"))[2], "1 Long Road; Flat 2");
        assert_eq!(value("EMAIL;TYPE=work:"), "ann@example.com");
        assert!(lines.iter().any(|l| l.starts_with("TEL;TYPE=cell:")));
        assert_eq!(value("BDAY:"), "19800229");
        assert_eq!(value("UID:"), format!("urn:uuid:{}", uuid(&person.id.to_string())));
        assert_eq!(value("UID:").len(), "urn:uuid:".len() + 36);
        assert!(value("REV:").ends_with('Z'));
        assert!(card.contains("\r\n "), "the long note is folded");
    }

    #[test]
    fn odd_channel_kinds_give_no_type_parameter() {
        assert_eq!(type_param("home"), ";TYPE=home");
        assert_eq!(type_param("a;b:c"), "");
        assert_eq!(escape("a\r\nb\u{7}"), "a\\nb");
    }
}
