//! Pages of a listing: at most `limit` items after an opaque cursor, so a console or a large
//! fleet never loads a whole catalog to show part of it.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::CoreError;
use crate::model::{Cluster, Operation, OperationKind, OperationPhase, Snapshot, SnapshotKind, SnapshotStatus};

/// The most items one page holds.
pub const MAX_PAGE: u32 = 1000;

/// Which page to read: up to `limit` (1 to `MAX_PAGE`) items after the cursor `after` (the
/// `next` of the previous page; none for the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub after: Option<String>,
}

/// Whose items a listing reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// One cluster's (by id).
    Cluster(&'a str),
    /// Those of every cluster of one project (by id).
    Project(&'a str),
    /// Every cluster's.
    Fleet,
}

/// When the items a listing shows were created: at or after `from`, before `before`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// A range from RFC 3339 times (`since`, `until`). Errors: `Invalid` naming the field.
    pub fn parse(since: Option<&str>, until: Option<&str>) -> Result<Self, CoreError> {
        let time = |field: &'static str, text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| CoreError::invalid(field, "must be an RFC 3339 time (2026-01-31T12:00:00Z)"))
        };
        Ok(Self {
            from: since.map(|t| time("since", t)).transpose()?,
            before: until.map(|t| time("until", t)).transpose()?,
        })
    }
}

/// Which snapshots a listing shows: all, or only those of one kind, one status and/or created
/// in a time range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotFilter {
    pub kind: Option<SnapshotKind>,
    pub status: Option<SnapshotStatus>,
    pub created: TimeRange,
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
        Ok(Self { kind, status, created: TimeRange::default() })
    }
}

/// Which way an operation is: still open, or how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationState {
    Open,
    Succeeded,
    Failed,
}

impl OperationState {
    /// The phases of this state.
    pub fn phases(self) -> &'static [OperationPhase] {
        match self {
            Self::Open => &[OperationPhase::Pending, OperationPhase::Submitted],
            Self::Succeeded => &[OperationPhase::Succeeded],
            Self::Failed => &[OperationPhase::Failed],
        }
    }
}

/// Which operations a listing shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationFilter {
    pub kind: Option<OperationKind>,
    pub state: Option<OperationState>,
    pub created: TimeRange,
}

impl OperationFilter {
    /// A filter from the words operation views show: `kind` `create_snapshot`,
    /// `delete_snapshot`, `restore_snapshot` or `delete_snapshots`; `state` `open`, `succeeded`
    /// or `failed`. Errors: `Invalid` naming the field and the words it takes.
    pub fn parse(kind: Option<&str>, state: Option<&str>, created: TimeRange) -> Result<Self, CoreError> {
        let kind = kind
            .map(|k| {
                OperationKind::parse(k).ok_or_else(|| {
                    CoreError::invalid(
                        "kind",
                        "must be create_snapshot, delete_snapshot, restore_snapshot or delete_snapshots",
                    )
                })
            })
            .transpose()?;
        let state = state
            .map(|s| match s {
                "open" => Ok(OperationState::Open),
                "succeeded" => Ok(OperationState::Succeeded),
                "failed" => Ok(OperationState::Failed),
                _ => Err(CoreError::invalid("state", "must be open, succeeded or failed")),
            })
            .transpose()?;
        Ok(Self { kind, state, created })
    }
}

/// A page of operations, newest first; `next` reads the following page, none after the last.
#[derive(Debug, Clone)]
pub struct OperationPage {
    pub operations: Vec<Operation>,
    pub next: Option<String>,
}

/// A page of a cluster's snapshots, newest first; `next` reads the following page, none after
/// the last.
#[derive(Debug, Clone)]
pub struct SnapshotPage {
    pub snapshots: Arc<[Snapshot]>,
    pub next: Option<String>,
}

/// A page of clusters, oldest first (by registration, then id); `next` reads the following page,
/// none after the last.
#[derive(Debug, Clone)]
pub struct ClusterPage {
    pub clusters: Vec<Cluster>,
    pub next: Option<String>,
}

/// Where a page starts: after the item created at `.0` with id `.1`.
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

/// The cursor that follows the item created at `created_at` with `id`: `<created at, ms>.<id>`.
fn cursor_after(created_at: DateTime<Utc>, id: &str) -> String {
    format!("{}.{id}", created_at.timestamp_millis())
}

/// Splits a page read one item longer than `limit` into the page and the cursor of the next
/// (none after the last); `key` gives an item's creation time and id.
pub(crate) fn split_page<T>(
    mut items: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> (DateTime<Utc>, &str),
) -> (Vec<T>, Option<String>) {
    if items.len() <= limit as usize {
        return (items, None);
    }
    items.truncate(limit as usize);
    let next = items.last().map(|item| {
        let (at, id) = key(item);
        cursor_after(at, id)
    });
    (items, next)
}

/// [`split_page`] for a shared page: one no longer than `limit` is handed on as it is.
pub(crate) fn split_shared<T: Clone>(
    items: Arc<[T]>,
    limit: u32,
    key: impl Fn(&T) -> (DateTime<Utc>, &str),
) -> (Arc<[T]>, Option<String>) {
    if items.len() <= limit as usize {
        return (items, None);
    }
    let (page, next) = split_page(items[..=limit as usize].to_vec(), limit, key);
    (page.into(), next)
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
    fn a_shared_page_is_handed_on_uncopied_and_a_long_one_is_cut_with_its_cursor() {
        let at = DateTime::from_timestamp_millis(1_000).unwrap();
        let items: Arc<[(DateTime<Utc>, String)]> = (0..3).map(|i| (at, format!("id{i}"))).collect();
        let (page, next) = split_shared(Arc::clone(&items), 3, |(at, id)| (*at, id));
        assert!(Arc::ptr_eq(&page, &items) && next.is_none());
        let (page, next) = split_shared(items, 2, |(at, id)| (*at, id));
        assert_eq!((page.len(), next.as_deref()), (2, Some("1000.id1")));
    }

    #[test]
    fn filters_take_the_words_listings_show() {
        let filter = SnapshotFilter::parse(Some("auto"), Some("PART_FAILED")).unwrap();
        assert_eq!(
            filter,
            SnapshotFilter {
                kind: Some(SnapshotKind::Automatic),
                status: Some(SnapshotStatus::PartFailed),
                created: TimeRange::default()
            }
        );
        assert_eq!(SnapshotFilter::parse(None, None).unwrap(), SnapshotFilter::default());
        let open = OperationFilter::parse(Some("restore_snapshot"), Some("open"), TimeRange::default()).unwrap();
        assert_eq!((open.kind, open.state), (Some(OperationKind::RestoreSnapshot), Some(OperationState::Open)));
        for (kind, state, field) in [(Some("backup"), None, "kind"), (None, Some("running"), "state")] {
            let refused = OperationFilter::parse(kind, state, TimeRange::default());
            assert!(matches!(refused, Err(CoreError::Invalid { field: f, .. }) if f == field), "{refused:?}");
        }
        let range = TimeRange::parse(Some("2026-01-31T12:00:00Z"), Some("2026-02-01T00:00:00+01:00")).unwrap();
        assert_eq!(range.before.unwrap().to_rfc3339(), "2026-01-31T23:00:00+00:00");
        assert!(matches!(TimeRange::parse(None, Some("yesterday")), Err(CoreError::Invalid { field: "until", .. })));
        for (kind, status, field) in [(Some("nightly"), None, "kind"), (None, Some("completed"), "status")] {
            let refused = SnapshotFilter::parse(kind, status);
            assert!(matches!(refused, Err(CoreError::Invalid { field: f, .. }) if f == field), "{refused:?}");
        }
    }
}
