//! The one place covenant asks what time it is.
//!
//! Key windows and token lifetimes span years, and their rules must be
//! testable without waiting years. Builds with the `test-hooks` feature read
//! the simulated time from `COVENANT_TEST_NOW` (an RFC 3339 timestamp).
//! Release builds do not contain that code at all, so no setting on an
//! operator's machine can move covenant's clock.

use jiff::Timestamp;

/// The current time, to the second.
pub fn now() -> Timestamp {
    #[cfg(feature = "test-hooks")]
    if let Ok(text) = std::env::var("COVENANT_TEST_NOW") {
        return text
            .parse()
            .expect("COVENANT_TEST_NOW must be an RFC 3339 timestamp (test builds only)");
    }
    let now = Timestamp::now();
    Timestamp::from_second(now.as_second()).expect("the current time is within jiff's range")
}
