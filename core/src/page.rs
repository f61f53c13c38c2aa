//! Pages of a listing: at most `limit` items after an opaque cursor, so a console or a large
//! fleet never loads a whole catalog to show part of it.

use chrono::{DateTime, Utc};

use crate::error::CoreError;
use crate::model::{Snapshot, SnapshotKind, SnapshotStatus};

/// The most items one page holds.
pub const MAX_PAGE: u32 = 1000;

/// Which page to read: up to `limit` (1 to `MAX_PAGE`) items after the cursor `after` (the
/// `next` of the previous page; none for the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub after: Option<String>,
}

/// Which snapshots a listing shows: all, or only those of one kind and/or one status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotFilter {
    pub kind: Option<SnapshotKind>,
    pub status: Option<SnapshotStatus>,
}

impl SnapshotFilter {
    /// A filter from the words listings show: `kind` `manual` or `auto`; `status` one of
    /// `BUILDING`, `COMPLETED`, `PART_FAILED`, `FAILED`. Errors: `Invalid` naming the field and
    /// the words it takes.
    pub fn parse(kind: Option<&str>, status: Option<&str>) -> Result<Self, CoreError> {
        let kind = kind
            .map(|k| SnapshotKind::parse(k).ok_or_else(|| CoreError::invalid("kind", "must be manual or auto")))
            .transpose()?;
        let status = status
            .map(|s| {
                SnapshotStatus::parse(s)
                    .ok_or_else(|| CoreError::invalid("status", "must be BUILDING, COMPLETED, PART_FAILED or FAILED"))
            })
            .transpose()?;
        Ok(Self { kind, status })
    }
}

/// A page of a cluster's snapshots, newest first; `next` reads the following page, none after
/// the last.
#[derive(Debug, Clone)]
pub struct SnapshotPage {
    pub snapshots: Vec<Snapshot>,
    pub next: Option<String>,
}

/// Where a page starts: after the snapshot created at `.0` with id `.1`.
pub(crate) type Cursor = (DateTime<Utc>, String);

impl Page {
    /// The page's limit and decoded cursor. Errors: `Invalid` for a limit out of range or a
    /// cursor snapkeep did not make.
    pub(crate) fn checked(&self) -> Result<(u32, Option<Cursor>), CoreError> {
        if !(1..=MAX_PAGE).contains(&self.limit) {
            return Err(CoreError::invalid("limit", format!("must be 1 to {MAX_PAGE}")));
        }
        let after = self.after.as_deref().map(decode).transpose()?;
        Ok((self.limit, after))
    }
}

/// The cursor that follows `snapshot`: `<created at, ms>.<id>`.
pub(crate) fn cursor_after(snapshot: &Snapshot) -> String {
    format!("{}.{}", snapshot.created_at.timestamp_millis(), snapshot.id)
}

fn decode(cursor: &str) -> Result<Cursor, CoreError> {
    let bad = || CoreError::invalid("after", "is not a cursor this listing gave");
    let (ms, id) = cursor.split_once('.').ok_or_else(bad)?;
    let at = ms.parse::<i64>().ok().and_then(DateTime::from_timestamp_millis).ok_or_else(bad)?;
    if id.is_empty() || id.len() > 64 {
        return Err(bad());
    }
    Ok((at, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let at = DateTime::from_timestamp_millis(1_764_460_800_123).unwrap();
        assert_eq!(decode("1764460800123.abc").unwrap(), (at, "abc".to_owned()));
        for bad in ["", "abc", "12", "x.abc", "12.", &format!("1.{}", "a".repeat(65))] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
        for limit in [0, MAX_PAGE + 1] {
            assert!(Page { limit, after: None }.checked().is_err(), "{limit}");
        }
        assert_eq!(Page { limit: 5, after: None }.checked().unwrap(), (5, None));
    }

    #[test]
    fn filters_take_the_words_listings_show() {
        let filter = SnapshotFilter::parse(Some("auto"), Some("PART_FAILED")).unwrap();
        assert_eq!(
            filter,
            SnapshotFilter { kind: Some(SnapshotKind::Automatic), status: Some(SnapshotStatus::PartFailed) }
        );
        assert_eq!(SnapshotFilter::parse(None, None).unwrap(), SnapshotFilter::default());
        for (kind, status, field) in [(Some("nightly"), None, "kind"), (None, Some("completed"), "status")] {
            let refused = SnapshotFilter::parse(kind, status);
            assert!(matches!(refused, Err(CoreError::Invalid { field: f, .. }) if f == field), "{refused:?}");
        }
    }
}
