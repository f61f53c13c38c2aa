//! The fleet page: one row per cluster with its protection (coloured, most urgent first unless
//! sorted otherwise), engine, policy and next fire, last success and its age, last failure and
//! its reason, and running operations with live progress bars (the rows refresh every 3 s).
//! Filters: protection, project and a name or id fragment; every column header sorts. Every link
//! in the refreshed part has an id, so htmx gives focus back to it after a refresh (keyboard users
//! keep their place).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use snapkeep_core::{ClusterHealth, Protection, Snapkeep};

use crate::auth::Viewer;
use crate::error::ConsoleError;
use crate::layout::{Section, badge, page as shell, progress, query, span, time};

/// `?protection=`, `?project_id=`, `?q=` (name or id fragment), `?sort=`, `?desc=`.
#[derive(Deserialize, Default, Clone)]
pub(crate) struct FleetQuery {
    #[serde(default)]
    protection: String,
    #[serde(default)]
    project_id: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    desc: bool,
}

/// The columns a fleet can be sorted by, with their headers.
const SORTS: [(&str, &str); 6] = [
    ("protection", "Protection"),
    ("name", "Cluster"),
    ("engine", "Engine"),
    ("last_success", "Last success"),
    ("next_fire", "Next fire"),
    ("running", "Running"),
];

impl FleetQuery {
    fn as_query(&self) -> String {
        query(&[
            ("protection", &self.protection),
            ("project_id", &self.project_id),
            ("q", &self.q),
            ("sort", &self.sort),
            ("desc", if self.desc { "true" } else { "" }),
        ])
    }

    /// The query sorting by `column`: the other direction when it already does.
    fn sorted_by(&self, column: &str) -> String {
        let current = if self.sort.is_empty() { "protection" } else { self.sort.as_str() };
        let next = Self { sort: column.to_owned(), desc: current == column && !self.desc, ..self.clone() };
        next.as_query()
    }
}

async fn read_fleet(core: &Snapkeep, query: &FleetQuery) -> Result<Vec<ClusterHealth>, ConsoleError> {
    let only = (!query.protection.is_empty()).then(|| Protection::parse(&query.protection)).transpose()?;
    let project = (!query.project_id.is_empty()).then_some(query.project_id.as_str());
    let mut fleet = core.fleet(project, only).await?;
    let needle = query.q.to_lowercase();
    fleet.retain(|h| {
        needle.is_empty() || h.cluster.name.to_lowercase().contains(&needle) || h.cluster.id.contains(&needle)
    });
    sort(&mut fleet, &query.sort);
    if query.desc {
        fleet.reverse();
    }
    Ok(fleet)
}

/// Sorts `fleet` by `column` ascending (the core's order, most urgent first, for any other).
fn sort(fleet: &mut [ClusterHealth], column: &str) {
    match column {
        "name" => fleet.sort_by(|a, b| a.cluster.name.cmp(&b.cluster.name)),
        "engine" => fleet.sort_by_key(|h| (h.cluster.flavor.as_str(), h.cluster.version.to_string())),
        "last_success" => fleet.sort_by_key(|h| h.last_success.as_ref().map(|s| s.at)),
        "next_fire" => fleet.sort_by_key(|h| h.next_fire_at),
        "running" => fleet.sort_by_key(|h| h.running.len()),
        _ => {}
    }
}

pub(crate) async fn page(
    State(core): State<Snapkeep>,
    viewer: Viewer,
    query: Result<Query<FleetQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(query) = match query {
        Ok(q) => q,
        Err(e) => return ConsoleError::bad_form(e.body_text()).into_response(),
    };
    let (fleet, projects) = match (read_fleet(&core, &query).await, core.list_projects().await) {
        (Ok(fleet), Ok(projects)) => (fleet, projects),
        (Err(e), _) => return e.into_response(),
        (_, Err(e)) => return ConsoleError::from(e).into_response(),
    };
    let body = html! {
        h1 { "Fleet" }
        form.filters method="get" action="/console/" role="search" {
            label { "Protection "
                select name="protection" {
                    option value="" { "any" }
                    @for p in [Protection::Failing, Protection::Unprotected, Protection::Late, Protection::Protected] {
                        option value=(p.as_str()) selected[query.protection == p.as_str()] { (p.as_str()) }
                    }
                }
            }
            label { "Project "
                select name="project_id" {
                    option value="" { "any" }
                    @for project in &projects {
                        option value=(project.id) selected[query.project_id == project.id] { (project.name) }
                    }
                }
            }
            label { "Name " input type="search" name="q" value=(query.q) placeholder="name or id"; }
            button type="submit" { "Filter" }
        }
        (live(&fleet, &query))
    };
    shell("Fleet", Section::Fleet, &viewer, body).into_response()
}

/// The counts and the table alone, for the page's refresh.
pub(crate) async fn rows(State(core): State<Snapkeep>, Query(query): Query<FleetQuery>) -> Response {
    match read_fleet(&core, &query).await {
        Ok(fleet) => live(&fleet, &query).into_response(),
        Err(e) => e.into_response(),
    }
}

/// What refreshes every 3 s: the count of each protection and the table.
fn live(fleet: &[ClusterHealth], query: &FleetQuery) -> Markup {
    let counts = [Protection::Failing, Protection::Unprotected, Protection::Late, Protection::Protected]
        .map(|p| (p, fleet.iter().filter(|h| h.protection == p).count()));
    html! {
        div id="fleet-live" hx-get=(format!("/console/fleet/rows?{}", query.as_query())) hx-trigger="every 3s" hx-swap="outerHTML" {
            p.summary {
                @for (p, n) in counts {
                    a id=(format!("count-{}", p.as_str())) href=(format!("/console/?protection={}", p.as_str())) { (badge(p)) " " (n) }
                    " "
                }
                a id="count-all" href="/console/" { "all " (fleet.len()) }
            }
            table.fleet {
                caption { "Every cluster's protection; it refreshes every 3 seconds." }
                thead { tr {
                    @for (column, header) in SORTS {
                        th scope="col" { a id=(format!("sort-{column}")) href=(format!("/console/?{}", query.sorted_by(column))) { (header) } }
                    }
                    th scope="col" { "Last failure" }
                } }
                tbody {
                    @if fleet.is_empty() {
                        tr { td colspan="7" { "No cluster matches." } }
                    }
                    @for h in fleet {
                        (row(h))
                    }
                }
            }
        }
    }
}

fn row(h: &ClusterHealth) -> Markup {
    let c = &h.cluster;
    html! {
        tr class=(format!("prot-{}", h.protection.as_str())) data-cluster=(c.id) {
            td { (badge(h.protection)) }
            td { a id=(format!("cluster-{}", c.id)) href=(format!("/console/clusters/{}", c.id)) { (c.name) } br; small { (c.id) } }
            td { (c.flavor.as_str()) " " (c.version.to_string()) }
            td {
                @if let (Some(s), Some(age)) = (&h.last_success, h.last_success_age) {
                    (s.name) br; small { (span(age)) " ago" }
                } @else { "never" }
            }
            td {
                @if let (true, Some(at)) = (h.policy_enabled, h.next_fire_at) { (time(at)) } @else { "no policy" }
            }
            td {
                @for r in &h.running {
                    div { (r.kind.as_str()) " " (progress(&r.progress)) }
                }
            }
            td {
                @if let Some(f) = &h.last_failure {
                    span.reason title=(f.reason) { (f.kind.as_str()) ": " (truncate(&f.reason, 80)) }
                }
            }
        }
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
