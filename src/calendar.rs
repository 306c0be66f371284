//! A minimal iCalendar writer (RFC 5545) for the lifecycle deadlines.
//!
//! covenant writes one fixed shape of calendar, so it writes the text
//! itself rather than adding a calendar library and its date-time stack to
//! an offline security tool. The rules that matter are followed exactly:
//! CRLF line endings (§3.1), lines folded at 75 octets without splitting a
//! UTF-8 character (§3.1), TEXT values escaped (§3.3.11), times in UTC
//! (§3.3.5 form 2), and the required UID and DTSTAMP on every event
//! (§3.6.1). UIDs are derived from the deadline, so re-importing an updated
//! export replaces events instead of duplicating them.

use jiff::Timestamp;

/// The longest line, in octets, before folding (RFC 5545 §3.1).
const MAX_LINE_OCTETS: usize = 75;

/// One event: a deadline at a moment, with a reminder a week before.
pub struct Event {
    pub uid: String,
    pub start: Timestamp,
    pub summary: String,
    pub description: String,
}

/// Renders a calendar. `stamp` is when it was made (DTSTAMP).
pub fn render(prodid: &str, name: &str, stamp: Timestamp, events: &[Event]) -> String {
    let mut out = String::new();
    let mut line = |s: String| push_folded(&mut out, &s);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line(format!("PRODID:{}", escape(prodid)));
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", escape(name)));
    for e in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", escape(&e.uid)));
        line(format!("DTSTAMP:{}", utc(stamp)));
        line(format!("DTSTART:{}", utc(e.start)));
        line(format!("DTEND:{}", utc(e.start)));
        line(format!("SUMMARY:{}", escape(&e.summary)));
        line(format!("DESCRIPTION:{}", escape(&e.description)));
        line("TRANSP:TRANSPARENT".into());
        line("BEGIN:VALARM".into());
        line("ACTION:DISPLAY".into());
        line("TRIGGER:-P7D".into());
        line(format!("DESCRIPTION:{}", escape(&e.summary)));
        line("END:VALARM".into());
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

/// A UTC DATE-TIME, `19980119T070000Z`.
fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line, folded so that no line exceeds 75 octets, each
/// continuation starting with one space, and ending with CRLF.
fn push_folded(out: &mut String, line: &str) {
    let mut used = 0;
    for c in line.chars() {
        if used + c.len_utf8() > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let text = format!("SUMMARY:{}", "é".repeat(100));
        push_folded(&mut out, &text);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= MAX_LINE_OCTETS, "{} octets", l.len());
        }
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, text);
    }

    #[test]
    fn text_is_escaped_and_every_line_ends_in_crlf() {
        let stamp: Timestamp = "2027-01-02T03:04:05Z".parse().unwrap();
        let ics = render(
            "-//covenant//EN",
            "keys",
            stamp,
            &[Event {
                uid: "rotate.k@covenant".into(),
                start: stamp,
                summary: "rotate; now, please\\".into(),
                description: "line one\nline two".into(),
            }],
        );
        assert!(ics.contains("SUMMARY:rotate\\; now\\, please\\\\\r\n"));
        assert!(ics.contains("DESCRIPTION:line one\\nline two\r\n"));
        assert!(ics.contains("DTSTART:20270102T030405Z\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }
}
