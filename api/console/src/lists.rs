//! The console's listings: operations of the whole fleet (live, filtered by state, kind and
//! cluster, in pages), storage profiles and access keys of every project (secrets never shown),
//! and the audit log in pages.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use snapkeep_core::{AuditQuery, CoreError, OperationFilter, OperationPage, Page, Snapkeep, TimeRange};

use crate::auth::Viewer;
use crate::error::ConsoleError;
use crate::fleet::truncate;
use crate::layout::{Section, page as shell, progress, query, span, time};

/// Rows per page of a listing.
const PAGE: u32 = 50;

/// `?state=`, `?kind=`, `?cluster_id=`, `?after=`.
#[derive(Deserialize, Default)]
pub(crate) struct OperationsQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    cluster_id: String,
    after: Option<String>,
}

impl OperationsQuery {
    fn as_query(&self, after: Option<&str>) -> String {
        let after = after.unwrap_or_default();
        query(&[("state", &self.state), ("kind", &self.kind), ("cluster_id", &self.cluster_id), ("after", after)])
    }
}

fn some(text: &str) -> Option<&str> {
    Some(text).filter(|t| !t.is_empty())
}

async fn read_operations(core: &Snapkeep, q: &OperationsQuery) -> Result<OperationPage, CoreError> {
    let filter = OperationFilter::parse(some(&q.kind), some(&q.state), TimeRange::default())?;
    let scope = core.scope(None, some(&q.cluster_id)).await?;
    core.operation_page(scope, &Page { limit: PAGE, after: q.after.clone() }, &filter).await
}

pub(crate) async fn operations(
    State(core): State<Snapkeep>,
    viewer: Viewer,
    Query(q): Query<OperationsQuery>,
) -> Response {
    let listed = match read_operations(&core, &q).await {
        Ok(listed) => listed,
        Err(e) => return ConsoleError::from(e).into_response(),
    };
    let body = html! {
        h1 { "Operations" }
        form.filters method="get" action="/console/operations" {
            label { "State "
                select name="state" {
                    option value="" { "any" }
                    @for s in ["open", "succeeded", "failed"] { option value=(s) selected[q.state == s] { (s) } }
                }
            }
            label { "Kind "
                select name="kind" {
                    option value="" { "any" }
                    @for k in ["create_snapshot", "delete_snapshot", "restore_snapshot", "delete_snapshots"] {
                        option value=(k) selected[q.kind == k] { (k) }
                    }
                }
            }
            label { "Cluster " input name="cluster_id" value=(q.cluster_id) placeholder="id"; }
            button type="submit" { "Filter" }
        }
        table.operations {
            caption { "Newest first; the rows refresh every 2 seconds." }
            thead { tr {
                th scope="col" { "Kind" } th scope="col" { "Cluster" } th scope="col" { "Phase" }
                th scope="col" { "Progress" } th scope="col" { "Started" } th scope="col" { "Took" } th scope="col" { "Error" }
            } }
            (operation_rows_markup(&listed, &q))
        }
        nav.pager aria-label="Operation pages" {
            @if q.after.is_some() { a href=(format!("/console/operations?{}", q.as_query(None))) { "Newest" } " " }
            @if let Some(next) = &listed.next { a href=(format!("/console/operations?{}", q.as_query(Some(next)))) { "Older →" } }
        }
    };
    shell("Operations", Section::Operations, &viewer, body).into_response()
}

/// The rows alone, for the page's refresh.
pub(crate) async fn operation_rows(State(core): State<Snapkeep>, Query(q): Query<OperationsQuery>) -> Response {
    match read_operations(&core, &q).await {
        Ok(listed) => operation_rows_markup(&listed, &q).into_response(),
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

fn operation_rows_markup(listed: &OperationPage, q: &OperationsQuery) -> Markup {
    let refresh = format!("/console/operations/rows?{}", q.as_query(q.after.as_deref()));
    html! {
        tbody id="operation-rows" hx-get=(refresh) hx-trigger="every 2s" hx-swap="outerHTML" {
            @if listed.operations.is_empty() { tr { td colspan="7" { "No operation matches." } } }
            @for op in &listed.operations {
                tr class=(format!("phase-{}", op.phase.as_str())) data-operation=(op.id) {
                    td { (op.kind.as_str()) br; small { (op.id) } }
                    td { a id=(format!("op-{}", op.id)) href=(format!("/console/clusters/{}", op.cluster_id)) { (op.cluster_id) } }
                    td { (op.phase.as_str()) }
                    td { @if op.finished_at.is_none() { (progress(&op.progress())) } }
                    td { (time(op.created_at)) }
                    td { @if let Some(end) = op.finished_at { (span(end - op.created_at)) } }
                    td { @if let Some(e) = &op.last_error { span.reason title=(e) { (truncate(e, 100)) } } }
                }
            }
        }
    }
}

pub(crate) async fn storage(State(core): State<Snapkeep>, viewer: Viewer) -> Response {
    let read = async {
        let mut sections = Vec::new();
        for project in core.list_projects().await? {
            let profiles = core.storage_profiles(&project.id).await?;
            sections.push(html! {
                section {
                    h2 { (project.name) " " small { (project.id) } }
                    table {
                        thead { tr {
                            th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "Endpoint" }
                            th scope="col" { "Bucket" } th scope="col" { "Base path" } th scope="col" { "Credentials" } th scope="col" { "Default" }
                        } }
                        tbody {
                            @if profiles.is_empty() { tr { td colspan="7" { "No profile: clusters use the local storage root." } } }
                            @for p in &profiles {
                                tr {
                                    td { (p.name) } td { (p.kind.as_str()) } td { (p.endpoint.as_deref().unwrap_or("—")) }
                                    td { (p.bucket.as_deref().unwrap_or("—")) } td { code { (p.base_path) } }
                                    td { @if let Some(key) = &p.access_key_id { (key) " (secret sealed)" } @else { "none" } }
                                    td { @if p.is_default { "default" } }
                                }
                            }
                        }
                    }
                }
            });
        }
        Ok::<_, CoreError>(sections)
    };
    match read.await {
        Ok(sections) => {
            let body = html! { h1 { "Storage profiles" } @for s in sections { (s) } };
            shell("Storage profiles", Section::Storage, &viewer, body).into_response()
        }
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

pub(crate) async fn keys(State(core): State<Snapkeep>, viewer: Viewer) -> Response {
    let read = async {
        let now = core.now();
        let mut sections = Vec::new();
        for project in core.list_projects().await? {
            let keys = core.list_access_keys(&project.id).await?;
            sections.push(html! {
                section {
                    h2 { (project.name) " " small { (project.id) } }
                    table {
                        thead { tr { th scope="col" { "Access key" } th scope="col" { "State" } th scope="col" { "Created" } th scope="col" { "Expires" } } }
                        tbody {
                            @if keys.is_empty() { tr { td colspan="4" { "No key." } } }
                            @for k in &keys {
                                tr { td { code { (k.access_key) } } td { (k.state(now).as_str()) } td { (time(k.created_at)) }
                                     td { @if let Some(at) = k.expires_at { (time(at)) } @else { "—" } } }
                            }
                        }
                    }
                }
            });
        }
        Ok::<_, CoreError>(sections)
    };
    match read.await {
        Ok(sections) => {
            let body = html! { h1 { "Access keys" } p { "Secrets are shown once, when a key is made; never here." } @for s in sections { (s) } };
            shell("Access keys", Section::Keys, &viewer, body).into_response()
        }
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct AuditPageQuery {
    before: Option<i64>,
}

pub(crate) async fn audit(State(core): State<Snapkeep>, viewer: Viewer, Query(q): Query<AuditPageQuery>) -> Response {
    let query = AuditQuery { before_id: Some(q.before.unwrap_or(i64::MAX)), limit: PAGE, ..AuditQuery::default() };
    let entries = match core.audit_log(query).await {
        Ok(entries) => entries,
        Err(e) => return ConsoleError::from(e).into_response(),
    };
    let next = (entries.len() == PAGE as usize).then(|| entries.last().map(|e| e.id)).flatten();
    let body = html! {
        h1 { "Audit log" }
        p { "Every change made through any API or this console, and every console login, newest first." }
        div.scroll { table.audit {
            thead { tr {
                th scope="col" { "#" } th scope="col" { "At" } th scope="col" { "Via" } th scope="col" { "Who" }
                th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "Outcome" }
            } }
            tbody {
                @for e in &entries {
                    tr { td { (e.id) } td { (time(e.at)) } td { (e.dialect) } td { (e.access_key) }
                         td { (e.action) } td { code { (e.target) } } td { (e.status) " " (e.outcome) } }
                }
            }
        } }
        nav.pager aria-label="Audit pages" {
            @if q.before.is_some() { a href="/console/audit" { "Newest" } " " }
            @if let Some(next) = next { a href=(format!("/console/audit?before={next}")) { "Older →" } }
        }
    };
    shell("Audit log", Section::Audit, &viewer, body).into_response()
}
