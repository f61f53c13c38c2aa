//! The CSS list of a cluster's snapshots, streamed: Huawei's API has no paging for it, so a
//! cluster with many snapshots would otherwise be held whole in memory, once as rows and again as
//! JSON. The catalog is read in keyset pages of `PAGE` (newest first, as the whole list was) and
//! each page is written out as it comes, so a list costs one page of memory whatever its length;
//! the bytes are those of `{"backups":[…]}` built whole.

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use snapkeep_core::{Cluster, CoreError, Page, Scope, Snapkeep, SnapshotConfig, SnapshotFilter};

use crate::view;

/// Snapshots read from the catalog and written out at a time (about 100 KiB of answer).
const PAGE: u32 = 200;

/// Where the stream is: before its first page, after the page ending at a cursor, or done.
enum Cursor {
    Start,
    After(String),
    Done,
}

/// The list of `cluster`'s snapshots as a streamed JSON answer.
pub(crate) fn backups(core: Snapkeep, cluster: Cluster, config: SnapshotConfig) -> Response {
    let body = Body::from_stream(pages(core, cluster, config));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn pages(core: Snapkeep, cluster: Cluster, config: SnapshotConfig) -> impl Stream<Item = Result<Bytes, CoreError>> {
    stream::try_unfold((core, cluster, config, Cursor::Start), |(core, cluster, config, cursor)| async move {
        let after = match cursor {
            Cursor::Done => return Ok(None),
            Cursor::Start => None,
            Cursor::After(after) => Some(after),
        };
        let first = after.is_none();
        let page = Page { limit: PAGE, after };
        let read = core.snapshot_page(Scope::Cluster(&cluster.id), &page, &SnapshotFilter::default()).await;
        let listed = read.inspect_err(
            |e| tracing::error!(cluster = %cluster.id, error = %e, "a streamed snapshot list broke off"),
        )?;
        let mut out = Vec::with_capacity(listed.snapshots.len() * 512 + 16);
        if first {
            out.extend_from_slice(b"{\"backups\":[");
        }
        for (i, snapshot) in listed.snapshots.iter().enumerate() {
            if !first || i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, &view::backup(&cluster, &config, snapshot)).expect("JSON to memory");
        }
        let next = match listed.next {
            Some(next) => Cursor::After(next),
            None => {
                out.extend_from_slice(b"]}");
                Cursor::Done
            }
        };
        Ok(Some((Bytes::from(out), (core, cluster, config, next))))
    })
}
