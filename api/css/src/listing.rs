//! The CSS list of a cluster's snapshots, streamed: Huawei's API has no paging for it, so a
//! cluster with many snapshots would otherwise be held whole in memory, once as rows and again as
//! JSON. The catalog is read in keyset pages of `PAGE` (newest first, as the whole list was). The
//! first page is read before the answer starts, so a catalog that fails it gets the caller a CSS
//! error, and a list of one page goes out whole (with its length); a longer one is written out a
//! page at a time as the pages come, so it costs one page of memory whatever its length. The bytes
//! are those of `{"backups":[…]}` built whole.

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use snapkeep_core::{Cluster, CoreError, Page, Scope, Snapkeep, SnapshotConfig, SnapshotFilter, SnapshotPage};

use crate::view::ClusterBackups;

/// Snapshots read from the catalog and written out at a time (about 100 KiB of answer).
const PAGE: u32 = 200;
/// About the bytes of one backup in the answer (enough for most, so a page's buffer seldom grows).
const BACKUP_BYTES: usize = 640;

/// The list of `cluster`'s snapshots as a JSON answer, streamed when it is longer than a page.
///
/// # Errors
/// The catalog's, when it fails the first page; a later page's failure breaks the answer off
/// (the caller sees a truncated body, never a well-formed short list).
pub(crate) async fn backups(core: Snapkeep, cluster: Cluster, config: SnapshotConfig) -> Result<Response, CoreError> {
    let first = page(&core, &cluster, None).await?;
    let mut out = Vec::with_capacity(first.snapshots.len() * BACKUP_BYTES + 16);
    out.extend_from_slice(b"{\"backups\":[");
    write_page(&mut out, &cluster, &config, &first, true);
    let body = match first.next {
        None => Body::from(out),
        Some(after) => {
            let rest = rest(core, cluster, config, after);
            Body::from_stream(stream::once(async { Ok(Bytes::from(out)) }).chain(rest))
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn page(core: &Snapkeep, cluster: &Cluster, after: Option<String>) -> Result<SnapshotPage, CoreError> {
    core.snapshot_page(Scope::Cluster(&cluster.id), &Page { limit: PAGE, after }, &SnapshotFilter::default()).await
}

/// Appends the page's backups to `out` (after a comma unless `first`), and the closing `]}` when
/// it is the last page.
fn write_page(out: &mut Vec<u8>, cluster: &Cluster, config: &SnapshotConfig, page: &SnapshotPage, first: bool) {
    let backups = ClusterBackups::new(cluster, config);
    for (i, snapshot) in page.snapshots.iter().enumerate() {
        if !first || i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, &backups.backup(snapshot)).expect("JSON to memory");
    }
    if page.next.is_none() {
        out.extend_from_slice(b"]}");
    }
}

/// The pages after the cursor `after`, each as the bytes it adds to the answer.
fn rest(
    core: Snapkeep,
    cluster: Cluster,
    config: SnapshotConfig,
    after: String,
) -> impl Stream<Item = Result<Bytes, CoreError>> {
    stream::try_unfold((core, cluster, config, Some(after)), |(core, cluster, config, after)| async move {
        let Some(after) = after else { return Ok(None) };
        let read = page(&core, &cluster, Some(after)).await;
        let listed = read.inspect_err(
            |e| tracing::error!(cluster = %cluster.id, error = %e, "a streamed snapshot list broke off"),
        )?;
        let mut out = Vec::with_capacity(listed.snapshots.len() * BACKUP_BYTES + 2);
        write_page(&mut out, &cluster, &config, &listed, false);
        Ok(Some((Bytes::from(out), (core, cluster, config, listed.next))))
    })
}
