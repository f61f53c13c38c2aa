//! A cluster's page and what it acts on: its protection and facts, its running operations with
//! live progress, a chart of its completed snapshots' duration and size, its snapshots in pages
//! (size, duration, kind, status) with delete and restore, a form to take a snapshot, and its
//! automatic-snapshot policy with the next five fire times. Search clusters restore into a
//! registered cluster (index selection, rename); PostgreSQL clusters into a new one (name, port).
//! A refused form is shown again with the reason, changing nothing.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use snapkeep_core::{
    Cluster, CoreError, CreateSnapshotInput, DatabasePolicyInput, NewClusterInput, Operation, OperationFilter,
    OperationState, Page, PolicyChange, QuartzCron, RestoreInput, Schedule, Scope, Snapkeep, Snapshot, SnapshotConfig,
    SnapshotFilter, SnapshotPolicy, SnapshotStatus, StrategyInput, TimeRange, policy,
};

use snapkeep_api_gateway::Created;

use crate::auth::{Viewer, see_other};
use crate::error::ConsoleError;
use crate::fleet::truncate;
use crate::layout::{Section, alert, badge, bytes, csrf_field, page as shell, progress, query, span, time};

/// Snapshots per page of the table.
const PAGE: u32 = 25;
/// Completed snapshots the chart shows, newest.
const CHARTED: u32 = 60;
/// Fire times the policy shows.
const NEXT_FIRES: usize = 5;

/// Form fields as posted (`csrf` among them), by name; a repeated name keeps every value.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn of(body: &Bytes) -> Self {
        Self(url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.trim().to_owned())).collect())
    }

    fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    fn optional(&self, name: &str) -> Option<String> {
        Some(self.get(name)).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }
}

/// A refused form: its reason, and the values to show again.
struct Refusal<'a> {
    status: StatusCode,
    message: String,
    form: &'static str,
    fields: &'a Fields,
}

impl<'a> Refusal<'a> {
    fn new(form: &'static str, fields: &'a Fields, error: CoreError) -> Self {
        let shown = ConsoleError::from(error);
        Self { status: shown.status, message: shown.message, form, fields }
    }

    fn message_for(refusal: Option<&Self>, form: &str) -> Option<String> {
        refusal.filter(|r| r.form == form).map(|r| r.message.clone())
    }

    fn value(refusal: Option<&Self>, form: &str, name: &str) -> Option<String> {
        refusal.filter(|r| r.form == form).map(|r| r.fields.get(name).to_owned())
    }
}

#[derive(Deserialize)]
pub(crate) struct ClusterQuery {
    after: Option<String>,
}

pub(crate) async fn page(
    State(core): State<Snapkeep>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<ClusterQuery>,
) -> Response {
    render(&core, &viewer, &id, query.after, None).await
}

async fn render(
    core: &Snapkeep,
    viewer: &Viewer,
    id: &str,
    after: Option<String>,
    refusal: Option<Refusal<'_>>,
) -> Response {
    match page_markup(core, viewer, id, after, refusal.as_ref()).await {
        Ok(markup) => (refusal.map_or(StatusCode::OK, |r| r.status), markup).into_response(),
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

async fn page_markup(
    core: &Snapkeep,
    viewer: &Viewer,
    id: &str,
    after: Option<String>,
    refusal: Option<&Refusal<'_>>,
) -> Result<Markup, CoreError> {
    let cluster = core.cluster(id).await?;
    let health = core.cluster_health(&cluster).await?;
    let (_, config) = core.snapshot_config(&cluster.project_id, &cluster.id).await?;
    let scope = Scope::Cluster(&cluster.id);
    let listed =
        core.snapshot_page(scope, &Page { limit: PAGE, after: after.clone() }, &SnapshotFilter::default()).await?;
    let completed = SnapshotFilter::parse(None, Some("COMPLETED"))?;
    let charted = core.snapshot_page(scope, &Page { limit: CHARTED, after: None }, &completed).await?;
    let running = open_operations(core, &cluster).await?;
    let body = html! {
        h1 { (cluster.name) " " (badge(health.protection)) }
        dl.facts {
            dt { "Id" } dd { (cluster.id) }
            dt { "Project" } dd { (cluster.project_id) }
            dt { "Engine" } dd { (cluster.flavor.as_str()) " " (cluster.version.to_string()) }
            dt { "Endpoint" } dd { (shown_endpoint(&cluster.endpoint)) }
            dt { "Last success" } dd {
                @if let (Some(s), Some(age)) = (&health.last_success, health.last_success_age) {
                    (s.name) " · " (span(age)) " ago"
                } @else { "never" }
            }
            dt { "Last failure" } dd {
                @if let Some(f) = &health.last_failure { (f.kind.as_str()) " at " (time(f.at)) ": " (f.reason) } @else { "none" }
            }
        }
        section aria-labelledby="running-h" {
            h2 id="running-h" { "Running" }
            (running_markup(&cluster.id, &running))
        }
        section aria-labelledby="create-h" {
            h2 id="create-h" { "Take a snapshot" }
            (create_form(viewer, &cluster, refusal))
        }
        section aria-labelledby="snapshots-h" {
            h2 id="snapshots-h" { "Snapshots" }
            (snapshot_table(viewer, &cluster, &listed.snapshots))
            nav.pager aria-label="Snapshot pages" {
                @if after.is_some() { a href=(format!("/console/clusters/{}", cluster.id)) { "Newest" } " " }
                @if let Some(next) = &listed.next {
                    a href=(format!("/console/clusters/{}?{}", cluster.id, query(&[("after", next)]))) { "Older →" }
                }
            }
        }
        section aria-labelledby="chart-h" {
            h2 id="chart-h" { "Duration and size" }
            (chart(&charted.snapshots))
        }
        section aria-labelledby="policy-h" {
            h2 id="policy-h" { "Automatic snapshots" }
            (policy_section(core, viewer, &cluster, &config, refusal))
        }
    };
    Ok(shell(&cluster.name, Section::Fleet, viewer, body))
}

/// An endpoint without its query or user information, which may carry credentials.
fn shown_endpoint(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(mut url) => {
            url.set_query(None);
            let _ = url.set_password(None);
            let _ = url.set_username("");
            url.to_string()
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}

async fn open_operations(core: &Snapkeep, cluster: &Cluster) -> Result<Vec<Operation>, CoreError> {
    let filter = OperationFilter { kind: None, state: Some(OperationState::Open), created: TimeRange::default() };
    let page = core.operation_page(Scope::Cluster(&cluster.id), &Page { limit: 20, after: None }, &filter).await?;
    Ok(page.operations)
}

/// The running operations alone, for the page's refresh (every 2 s).
pub(crate) async fn running(State(core): State<Snapkeep>, Path(id): Path<String>) -> Response {
    let read = async {
        let cluster = core.cluster(&id).await?;
        Ok::<_, CoreError>(running_markup(&cluster.id, &open_operations(&core, &cluster).await?))
    };
    match read.await {
        Ok(markup) => markup.into_response(),
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

fn running_markup(cluster_id: &str, running: &[Operation]) -> Markup {
    html! {
        div id="running" hx-get=(format!("/console/clusters/{cluster_id}/running")) hx-trigger="every 2s" hx-swap="outerHTML" aria-live="polite" {
            @if running.is_empty() { p { "Nothing is running." } }
            ul.running {
                @for op in running {
                    li data-operation=(op.id) {
                        (op.kind.as_str()) " of " code { (op.snapshot_id) } " · " (op.phase.as_str()) " "
                        (progress(&op.progress()))
                        @if let Some(e) = &op.last_error { " " span.reason { (truncate(e, 120)) } }
                    }
                }
            }
        }
    }
}

fn create_form(viewer: &Viewer, cluster: &Cluster, refusal: Option<&Refusal<'_>>) -> Markup {
    let value = |name| Refusal::value(refusal, "create", name).unwrap_or_default();
    html! {
        (alert(Refusal::message_for(refusal, "create").as_deref()))
        form.inline method="post" action=(format!("/console/clusters/{}/snapshots", cluster.id)) {
            (csrf_field(viewer))
            label { "Name " input name="name" required value=(value("name")) placeholder="nightly-2026-11-30"; }
            @if !cluster.flavor.is_database() {
                label { "Indices " input name="indices" value=(value("indices")) placeholder="all, or logs-*,metrics"; }
            }
            button type="submit" { "Take snapshot" }
        }
    }
}

/// The next `NEXT_FIRES` times `schedule` fires after `now` (fewer for one that ends: a
/// schedule's next time after its last is the end of time).
fn next_fires(schedule: &Schedule, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    std::iter::successors(Some(schedule.next_after(now)), |t| Some(schedule.next_after(*t)))
        .take_while(|t| *t < DateTime::<Utc>::MAX_UTC)
        .take(NEXT_FIRES)
        .collect()
}

fn fires_markup(fires: &[DateTime<Utc>]) -> Markup {
    html! {
        @if fires.is_empty() { p id="next-fires" { "It never fires again." } }
        @else { ol id="next-fires" { @for t in fires { li { (time(*t)) } } } }
    }
}

fn policy_section(
    core: &Snapkeep,
    viewer: &Viewer,
    cluster: &Cluster,
    config: &SnapshotConfig,
    refusal: Option<&Refusal<'_>>,
) -> Markup {
    let p = &config.policy;
    let shown = |name: &str, current: String| Refusal::value(refusal, "policy", name).unwrap_or(current);
    let enabled = refusal.filter(|r| r.form == "policy").map_or(p.enabled, |r| r.fields.checked("enabled"));
    html! {
        p { @if p.enabled { "On: " code { (p.schedule.as_quartz()) } " (Quartz, UTC), kept " (p.keepday) " days." } @else { "Off." } }
        @if p.enabled {
            p { "Next five fires:" } (fires_markup(&next_fires(&p.schedule, core.now())))
        }
        (alert(Refusal::message_for(refusal, "policy").as_deref()))
        details.edit open[refusal.is_some_and(|r| r.form == "policy")] {
        summary { "Edit the policy" }
        form.policy method="post" action=(format!("/console/clusters/{}/policy", cluster.id)) {
            (csrf_field(viewer))
            label.check { input type="checkbox" name="enabled" value="on" checked[enabled]; " Automatic snapshots on" }
            label { "Schedule (Quartz cron, UTC) "
                input name="cron" required value=(shown("cron", p.schedule.as_quartz()))
                    hx-get=(format!("/console/clusters/{}/policy/preview", cluster.id))
                    hx-trigger="input changed delay:400ms" hx-target="#preview" hx-swap="innerHTML";
            }
            label { "Name prefix " input name="prefix" required value=(shown("prefix", p.prefix.clone())); }
            label { "Keep days " input name="keepday" type="number" min="1" required value=(shown("keepday", p.keepday.to_string())); }
            @if !cluster.flavor.is_database() {
                label { "Indices " input name="indices" value=(shown("indices", p.indices.clone())) placeholder="all"; }
            }
            div id="preview" aria-live="polite" {}
            button type="submit" { "Save policy" }
        }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct PreviewQuery {
    #[serde(default)]
    cron: String,
}

/// The next five fires of the schedule being typed, or why it is refused.
pub(crate) async fn preview(State(core): State<Snapkeep>, Query(query): Query<PreviewQuery>) -> Markup {
    match QuartzCron::parse(&query.cron) {
        Ok(cron) => {
            let schedule = Schedule::Quartz(Box::new(cron));
            html! { p { "It would fire next at:" } (fires_markup(&next_fires(&schedule, core.now()))) }
        }
        Err(e) => html! { p.error { (e.to_string()) } },
    }
}

pub(crate) async fn set_policy(
    State(core): State<Snapkeep>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = Fields::of(&body);
    match save_policy(&core, &id, &fields).await {
        Ok(()) => see_other(&format!("/console/clusters/{id}")),
        Err(e) => render(&core, &viewer, &id, None, Some(Refusal::new("policy", &fields, e))).await,
    }
}

async fn save_policy(core: &Snapkeep, id: &str, fields: &Fields) -> Result<(), CoreError> {
    let cluster = core.cluster(id).await?;
    let keepday =
        fields.get("keepday").parse::<i64>().map_err(|_| CoreError::invalid("keepday", "must be a number of days"))?;
    let cron = fields.get("cron");
    QuartzCron::parse(cron)?;
    if cluster.flavor.is_database() {
        let strategies = vec![StrategyInput { name: fields.get("prefix").to_owned(), schedule: cron.to_owned() }];
        core.set_database_policy(&cluster.project_id, id, DatabasePolicyInput { keep_day: Some(keepday), strategies })
            .await?;
        if !fields.checked("enabled") {
            core.set_policy(&cluster.project_id, id, PolicyChange::Off { delete_automatic: false }).await?;
        }
        return Ok(());
    }
    let policy = SnapshotPolicy {
        enabled: fields.checked("enabled"),
        prefix: fields.get("prefix").to_owned(),
        schedule: Schedule::Quartz(Box::new(QuartzCron::parse(cron)?)),
        keepday: policy::retention_days(keepday)?,
        indices: fields.get("indices").to_owned(),
        ..SnapshotPolicy::default()
    };
    let change = if policy.enabled { PolicyChange::On(policy) } else { PolicyChange::Off { delete_automatic: false } };
    core.set_policy(&cluster.project_id, id, change).await
}

pub(crate) async fn create(
    State(core): State<Snapkeep>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = Fields::of(&body);
    let take = async {
        let cluster = core.cluster(&id).await?;
        let input = CreateSnapshotInput {
            indices: fields.optional("indices"),
            ..CreateSnapshotInput::named(fields.get("name"))
        };
        core.create_snapshot(&cluster.project_id, &cluster.id, input).await
    };
    match take.await {
        Ok(snapshot) => Created::mark(see_other(&format!("/console/clusters/{id}")), &snapshot.id),
        Err(e) => render(&core, &viewer, &id, None, Some(Refusal::new("create", &fields, e))).await,
    }
}

/// `1 index`, `3 indices` and the like.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Milliseconds a snapshot took, when it ended.
fn took(s: &Snapshot) -> Option<Duration> {
    Some(Duration::milliseconds(s.end_time_ms? - s.start_time_ms?))
}

fn snapshot_table(viewer: &Viewer, cluster: &Cluster, snapshots: &[Snapshot]) -> Markup {
    html! {
        table.snapshots {
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Kind" }
                th scope="col" { "Size" } th scope="col" { "Duration" } th scope="col" { "Created" } th scope="col" { "Actions" }
            } }
            tbody {
                @if snapshots.is_empty() { tr { td colspan="7" { "No snapshot yet." } } }
                @for s in snapshots {
                    tr data-snapshot=(s.name) {
                        td { (s.name) @if !s.indices.is_empty() { br; small { (count(s.indices.len(), "index", "indices")) } } }
                        td {
                            span class=(format!("status status-{}", s.status.as_str().to_lowercase())) { (s.status.as_str()) }
                            @if s.deleting { " · deleting" }
                            @if let Some(reason) = s.failure_reason.as_deref().or(s.operation_failure.as_deref()) {
                                br; small.reason { (truncate(reason, 120)) }
                            }
                        }
                        td { (s.kind.as_str()) }
                        td { @if let Some(b) = s.size_bytes { (bytes(b)) } @else { "—" } }
                        td { @if let Some(d) = took(s) { (span(d)) } @else { "—" } }
                        td { (time(s.created_at)) }
                        td.actions {
                            @if s.status == SnapshotStatus::Completed && !s.deleting {
                                a href=(format!("/console/snapshots/{}/restore", s.id)) { "Restore…" }
                            }
                            @if !s.deleting {
                                details.confirm {
                                    summary { "Delete…" }
                                    form method="post" action=(format!("/console/snapshots/{}/delete", s.id)) {
                                        (csrf_field(viewer))
                                        button.danger type="submit" { "Delete " (s.name) " from " (cluster.name) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// An SVG chart of `snapshots` (newest first): bars of size, a line of duration, oldest left.
fn chart(snapshots: &[Snapshot]) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 180.0;
    const PAD: f64 = 24.0;
    let mut points: Vec<(&Snapshot, u64, i64)> =
        snapshots.iter().map(|s| (s, s.size_bytes.unwrap_or(0), took(s).map_or(0, |d| d.num_milliseconds()))).collect();
    points.reverse();
    if points.is_empty() {
        return html! { p { "No completed snapshot to chart yet." } };
    }
    let max_size = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let max_ms = points.iter().map(|p| p.2).max().unwrap_or(0).max(1) as f64;
    let step = (W - 2.0 * PAD) / points.len() as f64;
    let bar = (step * 0.7).min(32.0);
    let y = |fraction: f64| H - PAD - fraction * (H - 2.0 * PAD);
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", PAD + step * (i as f64 + 0.5), y(p.2 as f64 / max_ms)))
        .collect();
    let label = format!(
        "{}: size up to {}, duration up to {}",
        count(points.len(), "completed snapshot", "completed snapshots"),
        bytes(max_size as u64),
        span(Duration::milliseconds(max_ms as i64))
    );
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(label) {
                line x1=(PAD) y1=(H - PAD) x2=(W - PAD) y2=(H - PAD) class="axis" {}
                @for (i, p) in points.iter().enumerate() {
                    rect class="size" x=(format!("{:.1}", PAD + step * (i as f64 + 0.5) - bar / 2.0)) y=(format!("{:.1}", y(p.1 as f64 / max_size)))
                        width=(format!("{bar:.1}")) height=(format!("{:.1}", (H - PAD) - y(p.1 as f64 / max_size))) {
                        title { (p.0.name) ": " (bytes(p.1)) ", " (span(Duration::milliseconds(p.2))) }
                    }
                }
                polyline class="duration" points=(line.join(" ")) {}
                @for point in &line {
                    @if let Some((x, y)) = point.split_once(',') { circle class="duration" cx=(x) cy=(y) r="3" {} }
                }
                text x=(PAD) y="14" class="legend" { "size (bars) up to " (bytes(max_size as u64)) }
                text x=(W - PAD) y="14" class="legend end" { "duration (line) up to " (span(Duration::milliseconds(max_ms as i64))) }
            }
            figcaption { (label) ", oldest left." }
        }
    }
}

/// The snapshot of `id` with its cluster.
async fn snapshot_and_cluster(core: &Snapkeep, id: &str) -> Result<(Snapshot, Cluster), CoreError> {
    let snapshot = core.snapshot(id).await?;
    let cluster = core.cluster(&snapshot.cluster_id).await?;
    Ok((snapshot, cluster))
}

pub(crate) async fn restore_form(State(core): State<Snapkeep>, viewer: Viewer, Path(id): Path<String>) -> Response {
    render_restore(&core, &viewer, &id, None).await
}

async fn render_restore(core: &Snapkeep, viewer: &Viewer, id: &str, refusal: Option<Refusal<'_>>) -> Response {
    let read = async {
        let (snapshot, cluster) = snapshot_and_cluster(core, id).await?;
        let targets: Vec<Cluster> = core
            .list_clusters(Some(&cluster.project_id))
            .await?
            .into_iter()
            .filter(|c| c.flavor.family() == cluster.flavor.family())
            .collect();
        Ok::<_, CoreError>(restore_markup(viewer, &snapshot, &cluster, &targets, refusal.as_ref()))
    };
    match read.await {
        Ok(markup) => (refusal.map_or(StatusCode::OK, |r| r.status), markup).into_response(),
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

fn restore_markup(
    viewer: &Viewer,
    snapshot: &Snapshot,
    cluster: &Cluster,
    targets: &[Cluster],
    refusal: Option<&Refusal<'_>>,
) -> Markup {
    let value = |name| Refusal::value(refusal, "restore", name).unwrap_or_default();
    let chosen = refusal.map(|r| r.fields.all("index")).unwrap_or_default();
    let body = html! {
        h1 { "Restore " (snapshot.name) }
        p { "From " a href=(format!("/console/clusters/{}", cluster.id)) { (cluster.name) } ", taken " (time(snapshot.created_at)) "." }
        (alert(Refusal::message_for(refusal, "restore").as_deref()))
        form.restore method="post" action=(format!("/console/snapshots/{}/restore", snapshot.id)) {
            (csrf_field(viewer))
            @if cluster.flavor.is_database() {
                p { "A PostgreSQL snapshot restores into a new cluster, started by snapkeep." }
                label { "New cluster name " input name="name" required value=(value("name")); }
                label { "Port " input name="port" type="number" min="1024" max="65535" required value=(value("port")); }
            } @else {
                label { "Into cluster "
                    select name="target_cluster" {
                        @for t in targets {
                            option value=(t.id) selected[value("target_cluster") == t.id || (value("target_cluster").is_empty() && t.id == cluster.id)] { (t.name) " (" (t.id) ")" }
                        }
                    }
                }
                fieldset {
                    legend { "Indices (none ticked: all)" }
                    @for index in &snapshot.indices {
                        label.check { input type="checkbox" name="index" value=(index) checked[chosen.contains(&index.as_str())]; " " (index) }
                    }
                }
                label { "Rename pattern " input name="rename_pattern" value=(value("rename_pattern")) placeholder="(.+)"; }
                label { "Rename replacement " input name="rename_replacement" value=(value("rename_replacement")) placeholder="restored_$1"; }
                label.check { input type="checkbox" name="replace_existing" value="on"; " Replace open indices of the same name" }
            }
            button type="submit" { "Restore" }
        }
    };
    shell(&format!("Restore {}", snapshot.name), Section::Fleet, viewer, body)
}

pub(crate) async fn restore(
    State(core): State<Snapkeep>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = Fields::of(&body);
    match start_restore(&core, &id, &fields).await {
        Ok(target) => {
            Created::mark(see_other(&format!("/console/operations?{}", query(&[("cluster_id", &target)]))), &target)
        }
        Err(e) => render_restore(&core, &viewer, &id, Some(Refusal::new("restore", &fields, e))).await,
    }
}

/// Starts the restore the form asks for; the cluster restored into.
async fn start_restore(core: &Snapkeep, id: &str, fields: &Fields) -> Result<String, CoreError> {
    let (snapshot, cluster) = snapshot_and_cluster(core, id).await?;
    if cluster.flavor.is_database() {
        let port = fields.get("port").parse::<i64>().map_err(|_| CoreError::invalid("port", "must be a number"))?;
        let input = NewClusterInput { name: fields.get("name").to_owned(), port: Some(port) };
        let (target, _) = core.restore_to_new_cluster(&cluster.project_id, &snapshot.id, input).await?;
        return Ok(target);
    }
    let indices = fields.all("index").join(",");
    let input = RestoreInput {
        target_cluster: fields.get("target_cluster").to_owned(),
        indices: Some(indices).filter(|i| !i.is_empty()),
        rename_pattern: fields.optional("rename_pattern"),
        rename_replacement: fields.optional("rename_replacement"),
        replace_existing: fields.checked("replace_existing"),
    };
    let target = input.target_cluster.clone();
    core.restore_snapshot(&cluster.project_id, &cluster.id, &snapshot.id, input).await?;
    Ok(target)
}

pub(crate) async fn delete(State(core): State<Snapkeep>, Path(id): Path<String>) -> Response {
    let remove = async {
        let (snapshot, cluster) = snapshot_and_cluster(&core, &id).await?;
        core.delete_snapshot(&cluster.project_id, &cluster.id, &snapshot.id).await?;
        Ok::<_, CoreError>(cluster.id)
    };
    match remove.await {
        Ok(cluster) => see_other(&format!("/console/clusters/{cluster}")),
        Err(e) => ConsoleError::from(e).into_response(),
    }
}
