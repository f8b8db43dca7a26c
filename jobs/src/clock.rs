//! The one clock: wall time in UTC at millisecond precision, the precision MySQL's
//! `DATETIME(3)`, the API's timestamps and job payloads keep.

use chrono::{DateTime, Utc};

/// Now, truncated to the millisecond (so a value written and read back compares equal).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}
