//! Days as a person types them (`2026-11-22`): a report's, an export's or a list's days, read the
//! same way by the engine and by the command line.

use chrono::NaiveDate;

/// The most days one range report or export covers.
pub const MAX_SPAN_DAYS: i64 = 366;

/// A day typed `YYYY-MM-DD` (spaces around it are ignored).
pub fn parse_day(typed: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(typed.trim(), "%Y-%m-%d").ok()
}

/// Why the days typed for a range are not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanError {
    /// Not `YYYY-MM-DD`: the text as typed.
    NotADay(String),
    /// The last day is before the first, or the range is longer than [`MAX_SPAN_DAYS`].
    OutOfRange,
}

/// The days `from` to `to`, both included: 1 to [`MAX_SPAN_DAYS`] of them.
pub fn parse_span(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), SpanError> {
    let day = |typed: &str| parse_day(typed).ok_or_else(|| SpanError::NotADay(typed.to_string()));
    let (first, last) = (day(from)?, day(to)?);
    let days = (last - first).num_days() + 1;
    if !(1..=MAX_SPAN_DAYS).contains(&days) {
        return Err(SpanError::OutOfRange);
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_is_one_to_366_days_first_to_last() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(parse_span("2026-11-22", " 2026-11-22 "), Ok((d(2026, 11, 22), d(2026, 11, 22))));
        assert_eq!(parse_span("2025-01-01", "2025-12-31"), Ok((d(2025, 1, 1), d(2025, 12, 31))));
        // 366 days, and one more.
        assert_eq!(parse_span("2025-01-01", "2026-01-01"), Ok((d(2025, 1, 1), d(2026, 1, 1))));
        assert_eq!(parse_span("2025-01-01", "2026-01-02"), Err(SpanError::OutOfRange));
        assert_eq!(parse_span("2026-11-22", "2026-11-21"), Err(SpanError::OutOfRange));
        assert_eq!(parse_span("2026-11-22", "22/11/2026"), Err(SpanError::NotADay("22/11/2026".into())));
        assert_eq!(parse_day("2026-02-30"), None);
    }
}
