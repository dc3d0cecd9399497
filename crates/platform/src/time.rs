//! Calendar helpers shared by the nightly jobs.

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::error::{Error, Result};

/// `[00:00, next 00:00)` of a UTC day.
pub fn day_bounds(day: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let next = day
        .checked_add_days(Days::new(1))
        .ok_or_else(|| Error::internal("date out of range"))?;
    Ok((
        day.and_time(chrono::NaiveTime::MIN).and_utc(),
        next.and_time(chrono::NaiveTime::MIN).and_utc(),
    ))
}
