//! CRM field values: phone numbers, web addresses, money, currencies, dates and free text, each
//! with its documented length and format rule (docs/fields.md). Every parser names the field it
//! rejects so the form can mark it.

use std::fmt;

use crate::error::{AppError, ErrorCode};

/// Longest single-line value (names, titles, industries).
pub const LINE_MAX: usize = 200;
/// Longest multi-line value (descriptions, background, note bodies).
pub const TEXT_MAX: usize = 20_000;

/// An optional single-line value: empty means none; otherwise trimmed, no control characters,
/// at most `max` characters.
pub fn optional_line(value: &str, max: usize, field: &'static str) -> Result<Option<String>, AppError> {
    let text = value.trim();
    if text.is_empty() {
        return Ok(None);
    }
    super::text::required_line(text, max, field).map(Some)
}

/// Multi-line text (line breaks and tabs allowed, other control characters not), at most `max`
/// characters; line endings are normalised to `\n`.
pub fn multiline(value: &str, max: usize, field: &'static str) -> Result<String, AppError> {
    let text = value.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    if text.chars().count() > max {
        return Err(AppError::field(ErrorCode::TooLong, field));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(AppError::field(ErrorCode::InvalidFormat, field));
    }
    Ok(text.to_owned())
}

/// Longest bank details value (an IBAN and BIC, or account number, sort code and bank name).
pub const BANK_DETAILS_MAX: usize = 500;

/// Optional bank details: free multi-line text (empty means none), at most
/// [`BANK_DETAILS_MAX`] characters. Stored sealed, like every other sensitive field.
pub fn bank_details(value: &str) -> Result<Option<String>, AppError> {
    let text = multiline(value, BANK_DETAILS_MAX, "bank_details")?;
    Ok((!text.is_empty()).then_some(text))
}

/// A phone number as people write it: digits with `+ ( ) - . /` and spaces, optionally an
/// extension (`x123`, `ext. 123`); 3 to 32 characters with at least 3 digits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str, field: &'static str) -> Result<Self, AppError> {
        let text = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return Err(AppError::field(ErrorCode::Required, field));
        }
        if text.chars().count() > 32 {
            return Err(AppError::field(ErrorCode::TooLong, field));
        }
        let lower = text.to_lowercase();
        let (main, extension) = match lower.find(['x', 'e']) {
            Some(at) => (&lower[..at], lower[at..].trim_start_matches("ext").trim_start_matches(['x', '.', ' '])),
            None => (lower.as_str(), ""),
        };
        let main_ok = main.chars().all(|c| c.is_ascii_digit() || "+()-./ ".contains(c))
            && main.chars().filter(char::is_ascii_digit).count() >= 3
            && main.chars().skip(1).all(|c| c != '+');
        if !main_ok || !extension.chars().all(|c| c.is_ascii_digit()) {
            return Err(AppError::field(ErrorCode::InvalidFormat, field));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Only the digits (a leading `+` dropped): how phone numbers are compared and searched.
    pub fn digits(&self) -> String {
        self.0.chars().filter(char::is_ascii_digit).collect()
    }
}

/// A web address with scheme http or https (https is assumed when none is given), at most 2,048
/// characters, without credentials.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(into = "String")]
pub struct WebUrl(String);

impl WebUrl {
    pub fn parse(input: &str, field: &'static str) -> Result<Self, AppError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(AppError::field(ErrorCode::Required, field));
        }
        if text.chars().count() > 2048 {
            return Err(AppError::field(ErrorCode::TooLong, field));
        }
        let invalid = || AppError::field(ErrorCode::InvalidFormat, field);
        let with_scheme = if text.contains("://") { text.to_owned() } else { format!("https://{text}") };
        let url = url::Url::parse(&with_scheme).map_err(|_| invalid())?;
        let host_ok = url.host_str().is_some_and(|h| h.contains('.') || h == "localhost");
        if !matches!(url.scheme(), "http" | "https")
            || !host_ok
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(invalid());
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host without `www.`, for search and display.
    pub fn domain(&self) -> String {
        let host = url::Url::parse(&self.0).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        host.strip_prefix("www.").map(str::to_owned).unwrap_or(host)
    }
}

/// An amount of money as a decimal string (`1234.5`, `-20`, `0.0001`): at most 4 decimals,
/// absolute value below 10^13. Held in ten-thousandths so sums are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Money(i64);

const MONEY_SCALE: i64 = 10_000;
const MONEY_MAX: i64 = 10_000_000_000_000 * MONEY_SCALE;

/// Digits grouped by thousands for people: `1234567` → `1,234,567`.
pub fn group_digits(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

impl Money {
    pub fn parse(input: &str, field: &'static str) -> Result<Self, AppError> {
        let invalid = || AppError::field(ErrorCode::InvalidFormat, field);
        let text: String = input.trim().chars().filter(|c| *c != ',' && *c != '_' && *c != ' ').collect();
        if text.is_empty() {
            return Err(AppError::field(ErrorCode::Required, field));
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(&text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 4
        {
            return Err(invalid());
        }
        if whole.trim_start_matches('0').len() > 13 {
            return Err(AppError::field(ErrorCode::TooLong, field));
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| invalid())? };
        let fraction: i64 = format!("{fraction:0<4}").parse().map_err(|_| invalid())?;
        let units = whole * MONEY_SCALE + fraction;
        if units >= MONEY_MAX {
            return Err(AppError::field(ErrorCode::TooLong, field));
        }
        Ok(Self(if negative { -units } else { units }))
    }

    pub fn zero() -> Self {
        Self(0)
    }

    /// The same amount with the opposite sign.
    pub fn negated(self) -> Money {
        Money(-self.0)
    }

    /// Exact sum (saturating far beyond any real pipeline).
    pub fn plus(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    /// The amount as a float, for chart proportions only (never for arithmetic).
    pub fn approx(self) -> f64 {
        self.0 as f64 / MONEY_SCALE as f64
    }

    /// Grouped for people: `1,234,567.50`.
    pub fn grouped(&self) -> String {
        let plain = self.to_string();
        let (sign, rest) = plain.strip_prefix('-').map_or(("", plain.as_str()), |r| ("-", r));
        let (whole, fraction) = rest.split_once('.').map_or((rest, None), |(w, f)| (w, Some(f)));
        let grouped = group_digits(whole);
        match fraction {
            Some(f) => format!("{sign}{grouped}.{f}"),
            None => format!("{sign}{grouped}"),
        }
    }
}

impl fmt::Display for Money {
    /// At least two decimals, trailing zeros beyond them dropped: `12.50`, `0.0001`, `-3.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let units = self.0.unsigned_abs();
        let whole = units / MONEY_SCALE as u64;
        let mut fraction = format!("{:04}", units % MONEY_SCALE as u64);
        while fraction.len() > 2 && fraction.ends_with('0') {
            fraction.pop();
        }
        write!(f, "{sign}{whole}.{fraction}")
    }
}

/// An ISO 4217 currency code: three letters, stored upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const DEFAULT: Currency = Currency(*b"EUR");

    pub fn parse(input: &str, field: &'static str) -> Result<Self, AppError> {
        let text = input.trim().to_ascii_uppercase();
        match <[u8; 3]>::try_from(text.as_bytes()) {
            Ok(code) if code.iter().all(u8::is_ascii_uppercase) => Ok(Self(code)),
            _ if text.is_empty() => Err(AppError::field(ErrorCode::Required, field)),
            _ => Err(AppError::field(ErrorCode::InvalidFormat, field)),
        }
    }

    /// Always three ASCII capitals: `parse` admits nothing else.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A calendar date written `YYYY-MM-DD`, between the years 1800 and 2200.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Day(time::Date);

impl Day {
    pub fn parse(input: &str, field: &'static str) -> Result<Self, AppError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(AppError::field(ErrorCode::Required, field));
        }
        let format = time::macros::format_description!("[year]-[month]-[day]");
        match time::Date::parse(text, &format) {
            Ok(date) if (1800..=2200).contains(&date.year()) => Ok(Self(date)),
            _ => Err(AppError::field(ErrorCode::InvalidFormat, field)),
        }
    }

    /// The UTC day of a Unix time.
    pub fn of_unix(unix: i64) -> Day {
        Day(time::OffsetDateTime::from_unix_timestamp(unix).map(|t| t.date()).unwrap_or(time::Date::MIN))
    }

    /// Days since 1970-01-01 (negative before), for compact index keys.
    pub fn ordinal(&self) -> i32 {
        self.0.to_julian_day() - 2_440_588
    }

    /// `(year, month)`, for monthly charts.
    pub fn year_month(&self) -> (i32, u8) {
        (self.0.year(), self.0.month() as u8)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0.year(), self.0.month() as u8, self.0.day())
    }
}

/// Each stored value (de)serialises as its text and is parsed again on the way in.
macro_rules! text_conversions {
    ($($type:ident => $field:literal),*) => {$(
        impl From<$type> for String {
            fn from(value: $type) -> String {
                value.to_string()
            }
        }

        impl TryFrom<String> for $type {
            type Error = AppError;
            fn try_from(s: String) -> Result<Self, AppError> {
                $type::parse(&s, $field)
            }
        }
    )*};
}

text_conversions!(Phone => "phone", WebUrl => "website", Money => "amount", Currency => "currency", Day => "date");

/// Phones and web addresses are only ever deserialised from stored records (inputs arrive as
/// text and go through `parse`), which were parsed when written: reading them back skips the
/// parse, which a profile showed costing more than the rest of decoding a company.
macro_rules! stored_text {
    ($($type:ident),*) => {$(
        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map($type)
            }
        }
    )*};
}

stored_text!(Phone, WebUrl);

/// Describes a text value in the OpenAPI document: a string with a format and its rule.
macro_rules! text_schema {
    ($($type:ident => $format:literal, $rule:literal;)*) => {$(
        impl utoipa::PartialSchema for $type {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::Custom($format.into())))
                    .description(Some($rule))
                    .into()
            }
        }

        impl utoipa::ToSchema for $type {}
    )*};
}

text_schema! {
    Phone => "phone", "3–32 characters: digits, spaces and + ( ) - . /, optionally an extension (x123).";
    WebUrl => "uri", "An http or https address (https:// is assumed when missing), at most 2,048 characters.";
    Money => "decimal", "A decimal string with at most 4 decimals, e.g. \"1250.50\".";
    Currency => "iso-4217", "A three-letter ISO 4217 code, e.g. \"EUR\".";
    Day => "date", "A calendar date, YYYY-MM-DD.";
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag: 1–40 characters of letters, digits, spaces, `-`, `_`, `.`, `&`; compared case-insensitively
/// (stored lower-case).
pub fn tag(input: &str, field: &'static str) -> Result<String, AppError> {
    let text = input.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if text.is_empty() {
        return Err(AppError::field(ErrorCode::Required, field));
    }
    if text.chars().count() > 40 {
        return Err(AppError::field(ErrorCode::TooLong, field));
    }
    if !text.chars().all(|c| c.is_alphanumeric() || " -_.&".contains(c)) {
        return Err(AppError::field(ErrorCode::InvalidFormat, field));
    }
    Ok(text)
}

/// A set of tags from a comma-separated list or several values: deduplicated, in order, at most 20.
pub fn tags<'a>(inputs: impl IntoIterator<Item = &'a str>, field: &'static str) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    for piece in inputs.into_iter().flat_map(|s| s.split(',')) {
        if piece.trim().is_empty() {
            continue;
        }
        let tag = tag(piece, field)?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > 20 {
        return Err(AppError::field(ErrorCode::TooLong, field));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T: fmt::Debug>(r: Result<T, AppError>) -> ErrorCode {
        r.unwrap_err().code()
    }

    #[test]
    fn phones() {
        assert_eq!(Phone::parse(" +44 (20) 7946-0958 ", "p").unwrap().digits(), "442079460958");
        assert!(Phone::parse("555 0100 x 12", "p").is_ok());
        assert!(Phone::parse("555-0100 ext. 12", "p").is_ok());
        assert_eq!(code(Phone::parse("call me", "p")), ErrorCode::InvalidFormat);
        assert_eq!(code(Phone::parse("12", "p")), ErrorCode::InvalidFormat);
        assert_eq!(code(Phone::parse("1+2+3", "p")), ErrorCode::InvalidFormat);
        assert_eq!(code(Phone::parse(&"1".repeat(33), "p")), ErrorCode::TooLong);
    }

    #[test]
    fn urls_are_http_or_https_only() {
        assert_eq!(WebUrl::parse("acme.example", "w").unwrap().as_str(), "https://acme.example/");
        assert_eq!(WebUrl::parse("http://www.acme.example/x", "w").unwrap().domain(), "acme.example");
        for bad in [
            "javascript:alert(1)",
            "ftp://acme.example",
            "https://user:pw@acme.example",
            "https://nodot",
            "data:text/html,x",
        ] {
            assert_eq!(code(WebUrl::parse(bad, "w")), ErrorCode::InvalidFormat, "{bad}");
        }
    }

    #[test]
    fn money_is_exact() {
        let m = |s| Money::parse(s, "m").unwrap();
        assert_eq!(m("1,234.5").to_string(), "1234.50");
        assert_eq!(m("-0.0001").to_string(), "-0.0001");
        assert_eq!(m("12").to_string(), "12.00");
        assert_eq!(m(".5").to_string(), "0.50");
        assert_eq!(m("0.1").plus(m("0.2")), m("0.3"));
        assert_eq!(m("1234567.5").grouped(), "1,234,567.50");
        for bad in ["1.23456", "1e5", "abc", ".", "--1", "1.2.3"] {
            assert_eq!(code(Money::parse(bad, "m")), ErrorCode::InvalidFormat, "{bad}");
        }
        assert_eq!(code(Money::parse("99999999999999", "m")), ErrorCode::TooLong);
    }

    #[test]
    fn currencies_and_days() {
        assert_eq!(Currency::parse("usd", "c").unwrap().as_str(), "USD");
        assert_eq!(code(Currency::parse("US", "c")), ErrorCode::InvalidFormat);
        assert_eq!(code(Currency::parse("ÄBC", "c")), ErrorCode::InvalidFormat);
        assert_eq!(Day::parse("2026-02-28", "d").unwrap().to_string(), "2026-02-28");
        assert_eq!(Day::parse("1970-01-02", "d").unwrap().ordinal(), 1);
        for bad in ["2026-02-30", "26-1-1", "1799-12-31", "tomorrow"] {
            assert_eq!(code(Day::parse(bad, "d")), ErrorCode::InvalidFormat, "{bad}");
        }
    }

    #[test]
    fn tags_and_text() {
        assert_eq!(tags(["VIP, vip ,  Key  Account", ""], "t").unwrap(), vec!["vip", "key account"]);
        assert_eq!(code(tags(["<b>"], "t")), ErrorCode::InvalidFormat);
        assert_eq!(multiline(" a\r\nb\t ", 10, "x").unwrap(), "a\nb");
        assert_eq!(code(multiline("a\u{7}", 10, "x")), ErrorCode::InvalidFormat);
        assert_eq!(optional_line("  ", 5, "x").unwrap(), None);
    }
}
