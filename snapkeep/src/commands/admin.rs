//! `snapkeep admin …`: drives the admin API. Tables for people, `--json` for scripts.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// snapkeep's address (before or after the command, as every global flag).
    #[arg(long, global = true, env = "SNAPKEEP_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Admin bearer token (default: SNAPKEEP_ADMIN_TOKEN, else `<data-dir>/admin.token`).
    #[arg(long, global = true)]
    token: Option<String>,
    /// Data directory of a local snapkeep, to read its generated admin token.
    #[arg(long, global = true, env = "SNAPKEEP_DATA_DIR", default_value = "snapkeep-data")]
    data_dir: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    resource: Resource,
}

#[derive(Debug, Subcommand)]
enum Resource {
    /// Projects (tenants).
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Access keys (AK/SK pairs) of a project.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Search clusters.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Storage profiles of a project (where its snapshots live).
    #[command(subcommand)]
    Storage(StorageCommand),
    /// The audit log of mutating calls, oldest first.
    Audit {
        /// Only this project's entries.
        #[arg(long)]
        project: Option<String>,
        /// Only entries after this id (the `next` of a previous page).
        #[arg(long)]
        after: Option<i64>,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// The snapkeep replicas serving the catalog, and whether each is live.
    Replicas,
    /// Snapshots of any cluster, from the catalog.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Durable operations (creates, deletes, restores) of any cluster.
    #[command(subcommand)]
    Operation(OperationCommand),
    /// Every cluster's protection (failing, unprotected, late, protected), most urgent first.
    Fleet {
        /// Only this project's clusters.
        #[arg(long)]
        project: Option<String>,
        /// Only clusters in this state.
        #[arg(long)]
        protection: Option<String>,
    },
}

/// Which part of a listing to show: the scope, a time window and the page.
#[derive(Debug, clap::Args)]
struct Listing {
    /// Only this project's.
    #[arg(long)]
    project: Option<String>,
    /// Only this cluster's.
    #[arg(long)]
    cluster: Option<String>,
    /// Only those created at or after this RFC 3339 time.
    #[arg(long)]
    since: Option<String>,
    /// Only those created before this RFC 3339 time.
    #[arg(long)]
    until: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// The page after this cursor (the `next` of a previous page).
    #[arg(long)]
    after: Option<String>,
}

impl Listing {
    /// `path` with the listing's query, and `extra` pairs, encoded.
    fn path(self, path: &str, extra: [(&str, Option<String>); 2]) -> String {
        let pairs = [
            ("project_id", self.project),
            ("cluster_id", self.cluster),
            ("since", self.since),
            ("until", self.until),
            ("limit", Some(self.limit.to_string())),
            ("after", self.after),
        ];
        with_query(path, pairs.into_iter().chain(extra))
    }
}

/// `path` with the pairs whose value is set as its query, encoded.
fn with_query<'a>(path: &str, pairs: impl IntoIterator<Item = (&'a str, Option<String>)>) -> String {
    let mut url = reqwest::Url::parse("http://query.invalid/").expect("a base URL");
    url.query_pairs_mut().extend_pairs(pairs.into_iter().filter_map(|(k, v)| Some((k, v?))));
    match url.query() {
        Some(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path.to_owned(),
    }
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// A page of snapshots, newest first.
    List {
        #[command(flatten)]
        listing: Listing,
        /// Only this kind: manual or auto.
        #[arg(long)]
        kind: Option<String>,
        /// Only this status: BUILDING, COMPLETED, PART_FAILED or FAILED.
        #[arg(long)]
        status: Option<String>,
    },
    /// One snapshot, by id.
    Show {
        /// The snapshot's id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum OperationCommand {
    /// A page of operations, newest first.
    List {
        #[command(flatten)]
        listing: Listing,
        /// Only this kind: create_snapshot, delete_snapshot, restore_snapshot, delete_snapshots.
        #[arg(long)]
        kind: Option<String>,
        /// Only open ones, or those that ended so: open, succeeded or failed.
        #[arg(long)]
        state: Option<String>,
    },
    /// One operation, by id.
    Show {
        /// The operation's id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum ProjectCommand {
    /// Create a project; prints its id.
    Create {
        /// A display name, unique among projects.
        #[arg(long)]
        name: String,
    },
    /// Every project.
    List,
    /// One project.
    Show {
        /// The project's id.
        id: String,
    },
    /// Delete a project without clusters (and its keys and storage profiles).
    Delete {
        /// The project's id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Make a key; the secret is shown this once.
    Create {
        /// The project the key signs for.
        #[arg(long)]
        project: String,
    },
    /// A project's keys (never their secrets).
    List {
        /// The project's id.
        #[arg(long)]
        project: String,
    },
    /// One key: its project, state and expiry.
    Show {
        /// The access key (AK).
        access_key: String,
    },
    /// Delete a key; requests it signs are refused at once.
    Delete {
        /// The access key (AK).
        access_key: String,
    },
    /// Stop a key signing requests, at once.
    Disable {
        /// The access key (AK).
        access_key: String,
    },
    /// Let a disabled key sign again.
    Enable {
        /// The access key (AK).
        access_key: String,
    },
    /// Make a new key for the key's project; the old one keeps signing for the grace period.
    Rotate {
        /// The access key (AK) to replace.
        access_key: String,
        /// Seconds the old key keeps signing.
        #[arg(long, default_value_t = 86400)]
        grace_seconds: i64,
    },
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Register a cluster (snapkeep contacts it and checks its repository first).
    Create {
        /// The project that owns it.
        #[arg(long)]
        project: String,
        /// A display name.
        #[arg(long)]
        name: String,
        /// Base URL, possibly with a path prefix.
        #[arg(long)]
        endpoint: String,
        /// The id the dialects use (CSS cluster_id, Alibaba InstanceId); a UUID by default.
        #[arg(long)]
        id: Option<String>,
        /// Region shown to the dialects (default: `region` of the configuration).
        #[arg(long)]
        region: Option<String>,
        /// User for basic authentication (Elasticsearch/OpenSearch) or the role (PostgreSQL).
        #[arg(long)]
        username: Option<String>,
        /// Name of the environment variable holding the password (never pass it as an argument).
        #[arg(long, requires = "username")]
        password_env: Option<String>,
    },
    /// Registered clusters, oldest first, a page at a time.
    List {
        /// Only this project's clusters.
        #[arg(long)]
        project: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// The page after this cursor (the `next` of a previous page).
        #[arg(long)]
        after: Option<String>,
    },
    /// One cluster: engine, version, where its repository lives, its last failure.
    Show {
        /// The cluster's id.
        id: String,
    },
    /// Forget a cluster (a PostgreSQL cluster snapkeep restored is stopped and removed).
    Delete {
        /// The cluster's id.
        id: String,
        /// Also delete every object of the cluster's repository (kept by default).
        #[arg(long)]
        purge_storage: bool,
    },
}

#[derive(Debug, Subcommand)]
enum StorageCommand {
    /// Create a profile; its bucket and base path are checked first unless --no-verify.
    Create {
        /// The project it belongs to.
        #[arg(long)]
        project: String,
        /// Its name (the CSS `agency` that selects it).
        #[arg(long)]
        name: String,
        /// s3, oss, obs or fs.
        #[arg(long)]
        kind: String,
        /// Object storage endpoint URL.
        #[arg(long)]
        endpoint: Option<String>,
        /// Object storage region.
        #[arg(long)]
        region: Option<String>,
        /// Object storage bucket.
        #[arg(long)]
        bucket: Option<String>,
        /// Key prefix (object storage) or absolute root directory (fs).
        #[arg(long)]
        base_path: Option<String>,
        /// Path-style (true) or virtual-host (false) addressing.
        #[arg(long)]
        path_style: Option<bool>,
        /// Access key id for the storage.
        #[arg(long)]
        access_key_id: Option<String>,
        /// Name of the environment variable holding the secret key (never pass it as an argument).
        #[arg(long, requires = "access_key_id")]
        secret_env: Option<String>,
        /// Make it the project's default.
        #[arg(long)]
        default: bool,
        /// Store it without checking the bucket and base path.
        #[arg(long)]
        no_verify: bool,
    },
    /// A project's profiles (never their secrets).
    List {
        /// The project's id.
        #[arg(long)]
        project: String,
    },
    /// One profile, with the engine client settings clusters need for it.
    Show {
        /// The project's id.
        #[arg(long)]
        project: String,
        /// The profile's name.
        name: String,
    },
    /// Delete a profile no cluster's repository is in.
    Delete {
        /// The project's id.
        #[arg(long)]
        project: String,
        /// The profile's name.
        name: String,
    },
    /// Make a profile the project's default.
    Default {
        /// The project's id.
        #[arg(long)]
        project: String,
        /// The profile's name.
        name: String,
    },
}

const PROJECT_COLUMNS: &[&str] = &["id", "name", "created_at"];
const KEY_COLUMNS: &[&str] = &["access_key", "project_id", "state", "expires_at", "created_at"];
const NEW_KEY_COLUMNS: &[&str] = &["access_key", "secret_key", "project_id"];
const AUDIT_COLUMNS: &[&str] =
    &["id", "at", "dialect", "project_id", "access_key", "action", "target", "outcome", "request_id"];
const PURGE_COLUMNS: &[&str] = &["purged_objects"];
const SNAPSHOT_COLUMNS: &[&str] = &["id", "cluster_id", "name", "kind", "status", "size_bytes", "created_at"];
const OPERATION_COLUMNS: &[&str] =
    &["id", "kind", "cluster_id", "snapshot_id", "phase", "created_at", "finished_at", "last_error"];
const FLEET_COLUMNS: &[&str] = &[
    "cluster_id",
    "engine",
    "protection",
    "last_success.name",
    "last_success.age_seconds",
    "policy.next_fire_at",
    "last_failure.reason",
];
const REPLICA_COLUMNS: &[&str] = &["id", "version", "live", "started_at", "seen_at", "clock_offset_ms"];
const STORAGE_COLUMNS: &[&str] = &["name", "kind", "endpoint", "bucket", "base_path", "default", "created_at"];
const CLUSTER_COLUMNS: &[&str] = &["id", "name", "project_id", "engine", "version", "region", "endpoint"];

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let token = match args.token.clone().or_else(|| std::env::var("SNAPKEEP_ADMIN_TOKEN").ok()) {
        Some(token) => token,
        None => std::fs::read_to_string(args.data_dir.join("admin.token")).map(|t| t.trim().to_owned()).context(
            "no admin token: pass --token, set SNAPKEEP_ADMIN_TOKEN, or run next to the service's data directory",
        )?,
    };
    let api = Api { http: reqwest::Client::new(), server: args.server.trim_end_matches('/').to_owned(), token };
    let (answer, columns, list_key) = match args.resource {
        Resource::Project(command) => match command {
            ProjectCommand::Create { name } => {
                (api.call(Method::POST, "/projects", Some(json!({"name": name}))).await?, PROJECT_COLUMNS, None)
            }
            ProjectCommand::List => {
                (api.call(Method::GET, "/projects", None).await?, PROJECT_COLUMNS, Some("projects"))
            }
            ProjectCommand::Show { id } => {
                (api.call(Method::GET, &format!("/projects/{id}"), None).await?, PROJECT_COLUMNS, None)
            }
            ProjectCommand::Delete { id } => {
                (api.call(Method::DELETE, &format!("/projects/{id}"), None).await?, PROJECT_COLUMNS, None)
            }
        },
        Resource::Key(command) => match command {
            KeyCommand::Create { project } => {
                let answer = api.call(Method::POST, &format!("/projects/{project}/keys"), None).await?;
                (answer, NEW_KEY_COLUMNS, None)
            }
            KeyCommand::List { project } => {
                (api.call(Method::GET, &format!("/projects/{project}/keys"), None).await?, KEY_COLUMNS, Some("keys"))
            }
            KeyCommand::Show { access_key } => {
                (api.call(Method::GET, &format!("/keys/{access_key}"), None).await?, KEY_COLUMNS, None)
            }
            KeyCommand::Delete { access_key } => {
                (api.call(Method::DELETE, &format!("/keys/{access_key}"), None).await?, KEY_COLUMNS, None)
            }
            KeyCommand::Disable { access_key } => {
                (api.call(Method::POST, &format!("/keys/{access_key}/disable"), None).await?, KEY_COLUMNS, None)
            }
            KeyCommand::Enable { access_key } => {
                (api.call(Method::POST, &format!("/keys/{access_key}/enable"), None).await?, KEY_COLUMNS, None)
            }
            KeyCommand::Rotate { access_key, grace_seconds } => {
                let body = json!({"grace_seconds": grace_seconds});
                (
                    api.call(Method::POST, &format!("/keys/{access_key}/rotate"), Some(body)).await?,
                    NEW_KEY_COLUMNS,
                    None,
                )
            }
        },
        Resource::Audit { project, after, limit } => {
            let pairs =
                [("limit", Some(limit.to_string())), ("project_id", project), ("after", after.map(|a| a.to_string()))];
            let path = with_query("/audit", pairs);
            (api.call(Method::GET, &path, None).await?, AUDIT_COLUMNS, Some("entries"))
        }
        Resource::Fleet { project, protection } => {
            let path = with_query("/fleet", [("project_id", project), ("protection", protection)]);
            (api.call(Method::GET, &path, None).await?, FLEET_COLUMNS, Some("clusters"))
        }
        Resource::Snapshot(SnapshotCommand::List { listing, kind, status }) => {
            let path = listing.path("/snapshots", [("kind", kind), ("status", status)]);
            (api.call(Method::GET, &path, None).await?, SNAPSHOT_COLUMNS, Some("snapshots"))
        }
        Resource::Snapshot(SnapshotCommand::Show { id }) => {
            (api.call(Method::GET, &format!("/snapshots/{id}"), None).await?, SNAPSHOT_COLUMNS, None)
        }
        Resource::Operation(OperationCommand::List { listing, kind, state }) => {
            let path = listing.path("/operations", [("kind", kind), ("state", state)]);
            (api.call(Method::GET, &path, None).await?, OPERATION_COLUMNS, Some("operations"))
        }
        Resource::Operation(OperationCommand::Show { id }) => {
            (api.call(Method::GET, &format!("/operations/{id}"), None).await?, OPERATION_COLUMNS, None)
        }
        Resource::Replicas => (api.call(Method::GET, "/replicas", None).await?, REPLICA_COLUMNS, Some("replicas")),
        Resource::Cluster(command) => match command {
            ClusterCommand::Create { project, name, endpoint, id, region, username, password_env } => {
                let password = secret_from_env(password_env)?;
                let body = json!({"project_id": project, "name": name, "endpoint": endpoint, "id": id, "region": region, "username": username, "password": password});
                (api.call(Method::POST, "/clusters", Some(body)).await?, CLUSTER_COLUMNS, None)
            }
            ClusterCommand::List { project, limit, after } => {
                let path = with_query(
                    "/clusters",
                    [("project_id", project), ("limit", Some(limit.to_string())), ("after", after)],
                );
                (api.call(Method::GET, &path, None).await?, CLUSTER_COLUMNS, Some("clusters"))
            }
            ClusterCommand::Show { id } => {
                (api.call(Method::GET, &format!("/clusters/{id}"), None).await?, CLUSTER_COLUMNS, None)
            }
            ClusterCommand::Delete { id, purge_storage } => {
                let path = format!("/clusters/{id}?purge_storage={purge_storage}");
                (api.call(Method::DELETE, &path, None).await?, PURGE_COLUMNS, None)
            }
        },
        Resource::Storage(command) => storage(&api, command).await?,
    };
    print(&answer, columns, list_key, args.json);
    Ok(())
}

async fn storage(
    api: &Api,
    command: StorageCommand,
) -> anyhow::Result<(Value, &'static [&'static str], Option<&'static str>)> {
    let profiles = |project: &str| format!("/projects/{project}/storage-profiles");
    Ok(match command {
        StorageCommand::Create {
            project,
            name,
            kind,
            endpoint,
            region,
            bucket,
            base_path,
            path_style,
            access_key_id,
            secret_env,
            default,
            no_verify,
        } => {
            let secret = secret_from_env(secret_env)?;
            let body = json!({"name": name, "kind": kind, "endpoint": endpoint, "region": region, "bucket": bucket,
                "base_path": base_path, "path_style": path_style, "access_key_id": access_key_id,
                "secret_access_key": secret, "default": default, "verify": !no_verify});
            (api.call(Method::POST, &profiles(&project), Some(body)).await?, STORAGE_COLUMNS, None)
        }
        StorageCommand::List { project } => {
            (api.call(Method::GET, &profiles(&project), None).await?, STORAGE_COLUMNS, Some("storage_profiles"))
        }
        StorageCommand::Show { project, name } => {
            (api.call(Method::GET, &format!("{}/{name}", profiles(&project)), None).await?, STORAGE_COLUMNS, None)
        }
        StorageCommand::Delete { project, name } => {
            (api.call(Method::DELETE, &format!("{}/{name}", profiles(&project)), None).await?, STORAGE_COLUMNS, None)
        }
        StorageCommand::Default { project, name } => {
            let path = format!("{}/{name}/default", profiles(&project));
            (api.call(Method::POST, &path, None).await?, STORAGE_COLUMNS, None)
        }
    })
}

/// The value of the environment variable a secret was named by (secrets are never arguments).
fn secret_from_env(variable: Option<String>) -> anyhow::Result<Option<String>> {
    variable
        .map(|var| std::env::var(&var).with_context(|| format!("environment variable {var} is not set")))
        .transpose()
}

struct Api {
    http: reqwest::Client,
    server: String,
    token: String,
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}/admin/v1{path}", self.server);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| format!("cannot reach snapkeep at {}", self.server))?;
        let status = response.status();
        let text = response.text().await?;
        let value: Value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if !status.is_success() {
            let message = value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map_or_else(|| value.to_string(), str::to_owned);
            bail!("{status}: {message}");
        }
        Ok(value)
    }
}

fn print(answer: &Value, columns: &[&str], list_key: Option<&str>, as_json: bool) {
    if answer.is_null() {
        if as_json {
            println!("{{}}");
        } else {
            println!("done");
        }
        return;
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(answer).expect("JSON prints"));
        return;
    }
    let rows: Vec<&Value> = match list_key.and_then(|k| answer.get(k)).and_then(Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![answer],
    };
    println!("{}", table(columns, &rows));
    // A page that is not the last says how to read the rest, rather than end silently. (The
    // audit log's `next` is a number, where a reader tailing it goes on: always there.)
    if let Some(next) = answer.get("next").and_then(Value::as_str) {
        println!("more: the next page is this command again with --after {next}");
    }
}

/// Aligned columns with a header row; a column `a.b` is field `b` of field `a`.
fn table(columns: &[&str], rows: &[&Value]) -> String {
    let cell = |row: &Value, column: &str| match row.pointer(&format!("/{}", column.replace('.', "/"))) {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let grid: Vec<Vec<String>> = std::iter::once(columns.iter().map(|c| c.to_uppercase()).collect())
        .chain(rows.iter().map(|row| columns.iter().map(|c| cell(row, c)).collect()))
        .collect();
    let widths: Vec<usize> =
        (0..columns.len()).map(|i| grid.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    grid.iter()
        .map(|r| {
            r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_show_missing_values() {
        let a = json!({"id": "p1", "name": "alpha"});
        let b = json!({"id": "project-2", "name": null});
        assert_eq!(table(&["id", "name"], &[&a, &b]), "ID         NAME\np1         alpha\nproject-2  -");
        let encoded = with_query("/s", [("since", Some("2026-01-31T12:00:00+01:00".into())), ("kind", None)]);
        assert_eq!(encoded, "/s?since=2026-01-31T12%3A00%3A00%2B01%3A00");
        assert_eq!(with_query("/s", [("kind", None)]), "/s");
        let nested = json!({"last": {"name": "s1"}});
        assert_eq!(table(&["last.name"], &[&nested, &a]), "LAST.NAME\ns1\n-");
    }
}
