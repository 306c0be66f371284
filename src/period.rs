//! Lengths of time written in policy and contract files ("5y", "1y 6mo",
//! "90d", "60s"), and calendar arithmetic with them.
//!
//! Periods are calendar periods, not fixed numbers of seconds: adding a
//! year to 2026-03-01 gives 2027-03-01 whatever leap days lie between.
//! Days are civil days in UTC, which has no daylight-saving shifts. When
//! the target day does not exist in the target month, the result is the
//! month's last day: 2028-02-29 plus one year is 2029-02-28, and 2026-01-31
//! plus one month is 2026-02-28. The parser is jiff's "friendly" duration
//! format, which also accepts ISO 8601 (`P5Y`).

use std::fmt;

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, Unit};

/// A period as written in a file, kept with its text for messages.
#[derive(Debug, Clone)]
pub struct Period {
    span: Span,
    text: String,
}

impl Period {
    /// Parses a period; it must be positive.
    pub fn parse(text: &str) -> Result<Period, String> {
        let span: Span = text.trim().parse().map_err(|e| {
            format!("{text:?} is not a period such as \"5y\", \"6mo\", \"90d\" or \"60s\" ({e})")
        })?;
        if !span.is_positive() {
            return Err(format!("{text:?} must be longer than zero"));
        }
        Ok(Period {
            span,
            text: text.trim().to_string(),
        })
    }

    /// `from` plus this period, by the calendar rule in the module docs.
    pub fn after(&self, from: Timestamp) -> Option<Timestamp> {
        from.to_zoned_datetime(TimeZone::UTC)
            .checked_add(self.span)
            .ok()
            .map(|z| z.timestamp())
    }

    /// The period in whole seconds, for periods with no calendar units
    /// (leeway). Fails for periods given in days or longer units.
    pub fn fixed_seconds(&self) -> Result<i64, String> {
        if self.span.get_years() != 0
            || self.span.get_months() != 0
            || self.span.get_weeks() != 0
            || self.span.get_days() != 0
        {
            return Err(format!(
                "{:?} must be given in hours, minutes or seconds",
                self.text
            ));
        }
        let seconds = self.span.total(Unit::Second).map_err(|e| e.to_string())?;
        if seconds.fract() != 0.0 {
            return Err(format!("{:?} must be a whole number of seconds", self.text));
        }
        Ok(seconds as i64)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn leap_day_plus_a_year_is_the_last_of_february() {
        let p = Period::parse("1y").unwrap();
        assert_eq!(
            p.after(at("2028-02-29T00:00:00Z")),
            Some(at("2029-02-28T00:00:00Z"))
        );
    }

    #[test]
    fn years_are_calendar_years_across_leap_days() {
        let p = Period::parse("3y").unwrap();
        assert_eq!(
            p.after(at("2026-12-01T00:00:00Z")),
            Some(at("2029-12-01T00:00:00Z"))
        );
    }

    #[test]
    fn month_end_is_clamped() {
        let p = Period::parse("1mo").unwrap();
        assert_eq!(
            p.after(at("2026-01-31T12:00:00Z")),
            Some(at("2026-02-28T12:00:00Z"))
        );
    }

    #[test]
    fn leeway_must_be_clock_units() {
        assert_eq!(Period::parse("60s").unwrap().fixed_seconds(), Ok(60));
        assert_eq!(Period::parse("2m").unwrap().fixed_seconds(), Ok(120));
        assert!(Period::parse("1d").unwrap().fixed_seconds().is_err());
        assert!(Period::parse("0s").is_err());
        assert!(Period::parse("-5y").is_err());
        assert!(Period::parse("five years").is_err());
    }
}
