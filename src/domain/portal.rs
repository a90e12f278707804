//! The client portal's own vocabulary: request items and their states, and the reminder
//! schedule of a request (7 days and 1 day before its due date, on the day, then weekly).

use serde::{Deserialize, Serialize};

use super::fields::Day;
use crate::error::{AppError, ErrorCode};

/// How far one item of a document request has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Waiting for the client.
    Open,
    /// The client answered; waiting for the firm.
    Answered,
    /// The firm accepted the answer.
    Accepted,
    /// The firm sent it back with a comment; waiting for the client again.
    Reopened,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Open => "open",
            ItemState::Answered => "answered",
            ItemState::Accepted => "accepted",
            ItemState::Reopened => "reopened",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemState::Open => "Waiting for you",
            ItemState::Answered => "Answered, with the firm",
            ItemState::Accepted => "Accepted",
            ItemState::Reopened => "Needs another look",
        }
    }

    /// Whether the client still has to act on it.
    pub fn awaits_client(self) -> bool {
        matches!(self, ItemState::Open | ItemState::Reopened)
    }
}

/// Most items one request may list.
pub const ITEMS_MAX: usize = 50;
/// Longest item text, request title, comment and text answer (characters).
pub const ITEM_TEXT_MAX: usize = 500;
/// Longest message (characters).
pub const MESSAGE_MAX: usize = 5_000;

/// The hour (UTC) reminders go out on their day.
const REMINDER_HOUR: i64 = 8;

/// When reminder number `stage` of a request due on `due` goes out: stage 0 seven days
/// before, 1 the day before, 2 on the day, then each week after.
pub fn reminder_at(due: Day, stage: u32) -> i64 {
    let offset_days: i64 = match stage {
        0 => -7,
        1 => -1,
        n => 7 * (i64::from(n) - 2),
    };
    (i64::from(due.ordinal()) + offset_days) * 86_400 + REMINDER_HOUR * 3600
}

/// The first reminder still ahead at `now` (a request made three days before its due date
/// skips the seven-day one).
pub fn first_stage(due: Day, now: i64) -> u32 {
    (0..).find(|&stage| reminder_at(due, stage) > now).unwrap_or(0)
}

/// A request's title, one line of at most [`ITEM_TEXT_MAX`] characters.
pub fn line(text: &str, field: &'static str) -> Result<String, AppError> {
    crate::domain::text::required_line(text, ITEM_TEXT_MAX, field)
}

/// A message or comment body: trimmed, not empty, at most `max` characters.
pub fn body(text: &str, max: usize, field: &'static str) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::field(ErrorCode::Required, field));
    }
    if text.chars().count() > max {
        return Err(AppError::field(ErrorCode::TooLong, field));
    }
    Ok(text.replace("\r\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text, "due").unwrap()
    }

    fn unix(text: &str) -> i64 {
        let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
        time::PrimitiveDateTime::parse(text, &format).unwrap().assume_utc().unix_timestamp()
    }

    #[test]
    fn reminders_fall_a_week_and_a_day_before_on_the_day_then_weekly() {
        let due = day("2027-03-15");
        let expected =
            ["2027-03-08 08:00", "2027-03-14 08:00", "2027-03-15 08:00", "2027-03-22 08:00", "2027-03-29 08:00"];
        for (stage, at) in expected.iter().enumerate() {
            assert_eq!(reminder_at(due, stage as u32), unix(at), "stage {stage}");
        }
    }

    #[test]
    fn a_request_made_late_skips_the_reminders_already_past() {
        let due = day("2027-03-15");
        assert_eq!(first_stage(due, unix("2027-03-01 12:00")), 0);
        assert_eq!(first_stage(due, unix("2027-03-12 12:00")), 1);
        assert_eq!(first_stage(due, unix("2027-03-15 07:59")), 2);
        assert_eq!(first_stage(due, unix("2027-03-16 00:00")), 3);
    }

    #[test]
    fn bodies_are_bounded_and_never_empty() {
        assert_eq!(body("  hi\r\nthere ", 10, "body").unwrap(), "hi\nthere");
        assert_eq!(body("   ", 10, "body").unwrap_err().code(), ErrorCode::Required);
        assert_eq!(body("eleven chars", 10, "body").unwrap_err().code(), ErrorCode::TooLong);
    }
}
