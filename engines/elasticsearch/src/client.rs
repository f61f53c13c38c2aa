//! The HTTP client: one `HttpEngine` per cluster, requests built from the engines' REST specs.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use snapkeep_core::{
    EngineConnector, EngineEndpoint, EngineError, EngineErrorKind, EngineInfo, IndexState, RepositorySpec,
    RestoreRequest, SearchEngine, ShardRecovery, SnapshotInfo, SnapshotProgress, SnapshotRequest,
};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::capabilities::Capabilities;
use crate::parse;

/// Names per request in batched calls (delete, close, recovery).
const BATCH: usize = 100;

/// The largest answer read from a cluster, in bytes; a larger one is refused while it streams in,
/// so a cluster (or whatever answers at its address) cannot make snapkeep hold more.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// The largest list answer read from a cluster, in bytes. A list is deserialised as it streams
/// in, keeping only names (at most `parse::MAX_LISTED_SNAPSHOTS`), so memory stays small whatever
/// its length; this bound (with the request timeout) ends an answer that never does.
const MAX_LIST_ANSWER_BYTES: u64 = 1 << 30;

/// The longest comma list of names a request path carries, in bytes once encoded. With the
/// method, the endpoint's path prefix, the rest of the path and ` HTTP/1.1`, the request line
/// stays under the engines' `http.max_initial_line_length` (4 KB by default), which they answer
/// with `400 too_long_http_line_exception`.
const MAX_LIST_BYTES: usize = 3072;

/// Makes `HttpEngine`s sharing one connection pool.
#[derive(Clone)]
pub struct HttpEngineConnector {
    http: reqwest::Client,
}

impl HttpEngineConnector {
    /// `timeout` bounds every request; a cluster that does not answer in time is retried later.
    /// Redirects are never followed: an engine call goes to the registered address or nowhere.
    pub fn new(timeout: Duration) -> Result<Self, EngineError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("snapkeep/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EngineError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { http })
    }

    fn engine(&self, endpoint: EngineEndpoint, capabilities: Capabilities) -> HttpEngine {
        HttpEngine { http: self.http.clone(), endpoint, capabilities }
    }
}

#[async_trait]
impl EngineConnector for HttpEngineConnector {
    async fn probe(&self, endpoint: &EngineEndpoint) -> Result<EngineInfo, EngineError> {
        let probe = self.engine(
            endpoint.clone(),
            Capabilities::of(snapkeep_core::EngineFlavor::Elasticsearch, snapkeep_core::EngineVersion::new(6, 8, 0)),
        );
        match probe.call(Method::GET, "/", None).await {
            Err(EngineError::Api { kind: EngineErrorKind::Security, .. }) => {
                Err(EngineError::Protocol("the cluster refused the credentials (HTTP 401/403)".into()))
            }
            Err(EngineError::Api { status, .. }) => Err(EngineError::Protocol(format!(
                "GET / answered HTTP {status}: not an Elasticsearch or OpenSearch endpoint"
            ))),
            Err(EngineError::Protocol(why)) => {
                Err(EngineError::Protocol(format!("GET / failed ({why}): not an Elasticsearch or OpenSearch endpoint")))
            }
            other => parse::root(&other?),
        }
    }

    fn connect(&self, endpoint: EngineEndpoint, info: &EngineInfo) -> Arc<dyn SearchEngine> {
        Arc::new(self.engine(endpoint, Capabilities::of(info.flavor, info.version)))
    }
}

/// One cluster's REST API.
pub struct HttpEngine {
    http: reqwest::Client,
    endpoint: EngineEndpoint,
    capabilities: Capabilities,
}

/// Percent-encodes a path segment, keeping `,` and `*` (multi-target syntax) literal.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn list(names: &[String]) -> String {
    segment(&names.join(","))
}

/// `names` in runs of at most `limit` whose encoded comma list fits `MAX_LIST_BYTES`.
fn batches(names: &[String], limit: usize) -> Vec<&[String]> {
    let mut runs = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, name) in names.iter().enumerate() {
        let more = segment(name).len() + usize::from(i > start);
        if i > start && (i - start == limit || bytes + more > MAX_LIST_BYTES) {
            runs.push(&names[start..i]);
            (start, bytes) = (i, segment(name).len());
        } else {
            bytes += more;
        }
    }
    if start < names.len() {
        runs.push(&names[start..]);
    }
    runs
}

/// A redirect, named with where it pointed: snapkeep follows none.
fn redirected(status: u16, response: &reqwest::Response) -> EngineError {
    let location = response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or("");
    EngineError::Protocol(format!(
        "the cluster answered HTTP {status} redirecting to {location:?}; snapkeep follows no redirects, register the address that answers"
    ))
}

/// The answer's body, refused once it exceeds `MAX_ANSWER_BYTES` (by its length or as it streams).
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, EngineError> {
    let too_large = || EngineError::Protocol(format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"));
    if response.content_length().is_some_and(|length| length > MAX_ANSWER_BYTES as u64) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
        if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn transport(e: &reqwest::Error) -> EngineError {
    if e.is_timeout() {
        EngineError::Timeout
    } else {
        // The chain carries the cause (refused, DNS, TLS); the URL never holds credentials.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        EngineError::Unreachable(message)
    }
}

/// A 2xx answer deserialised as it streams in (on a blocking thread, never held whole), refused
/// past `MAX_LIST_ANSWER_BYTES`.
async fn read_streamed<T: DeserializeOwned + Send + 'static>(
    response: reqwest::Response,
    path_and_query: &str,
) -> Result<T, EngineError> {
    let stream = response.bytes_stream().map_err(std::io::Error::other);
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let (parsed, exhausted) = tokio::task::spawn_blocking(move || {
        let mut limited = std::io::BufReader::new(reader).take(MAX_LIST_ANSWER_BYTES);
        let parsed = serde_json::from_reader(&mut limited);
        (parsed, limited.limit() == 0)
    })
    .await
    .map_err(|e| EngineError::Protocol(format!("reading the answer to {path_and_query} stopped: {e}")))?;
    parsed.map_err(|e| match e {
        _ if exhausted => EngineError::Protocol(format!("the answer is larger than {MAX_LIST_ANSWER_BYTES} bytes")),
        e if e.is_io() => {
            let io = std::io::Error::from(e);
            match io.get_ref().and_then(|inner| inner.downcast_ref::<reqwest::Error>()) {
                Some(e) => transport(e),
                None => EngineError::Unreachable(io.to_string()),
            }
        }
        e => EngineError::Protocol(format!("answer to {path_and_query} is not the list asked for: {e}")),
    })
}

impl HttpEngine {
    /// Sends a request; 2xx answers come back as JSON (`Null` when empty), others as typed errors.
    async fn call(&self, method: Method, path_and_query: &str, body: Option<&Value>) -> Result<Value, EngineError> {
        let bytes = read_bounded(self.send(method, path_and_query, body).await?).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::Protocol(format!("answer to {path_and_query} is not JSON: {e}")))
    }

    /// Reads a list (`GET`), deserialised as it streams in (`read_streamed`).
    async fn get_list<T: DeserializeOwned + Send + 'static>(&self, path_and_query: &str) -> Result<T, EngineError> {
        read_streamed(self.send(Method::GET, path_and_query, None).await?, path_and_query).await
    }

    /// Sends a request: a 2xx answer, its body unread; a redirect or any other answer as a typed
    /// error.
    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, EngineError> {
        let url = format!("{}{}", self.endpoint.url, path_and_query);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(user) = &self.endpoint.username {
            request = request.basic_auth(user, self.endpoint.password.as_deref());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        tracing::debug!(%method, path = path_and_query, status, "engine request");
        if response.status().is_redirection() {
            return Err(redirected(status, &response));
        }
        if !(200..300).contains(&status) {
            return Err(parse::error(status, &read_bounded(response).await?));
        }
        Ok(response)
    }

    /// How the cluster has repository `name` registered; `None` when it has not.
    async fn registration(&self, name: &str) -> Result<Option<parse::Registration>, EngineError> {
        match self.call(Method::GET, &format!("/_snapshot/{}", segment(name)), None).await {
            Err(e) if e.kind() == Some(&EngineErrorKind::RepositoryMissing) => Ok(None),
            other => parse::registration(&other?, name).map(Some),
        }
    }

    async fn delete_batch(&self, repository: &str, names: &[String]) -> Result<(), EngineError> {
        let path = format!("/_snapshot/{}/{}", segment(repository), list(names));
        match self.call(Method::DELETE, &path, None).await {
            Err(e) if e.kind() == Some(&EngineErrorKind::SnapshotMissing) && names.len() > 1 => {
                // One of them is gone already: delete the rest one by one.
                for name in names {
                    Box::pin(self.delete_batch(repository, std::slice::from_ref(name))).await?;
                }
                Ok(())
            }
            Err(e) if e.kind() == Some(&EngineErrorKind::SnapshotMissing) => Ok(()),
            other => other.map(drop),
        }
    }
}

#[async_trait]
impl SearchEngine for HttpEngine {
    async fn info(&self) -> Result<EngineInfo, EngineError> {
        parse::root(&self.call(Method::GET, "/", None).await?)
    }

    /// Registers (and verifies) the repository unless the cluster already has it exactly so.
    /// The engines keep a registration whose verification failed; it is removed again, so a
    /// repeated call verifies anew instead of finding it in place. OpenSearch (and Elasticsearch
    /// before 7.14) refuses any change to a repository in use, even one that changes nothing; a
    /// throttle-only change refused so leaves the repository in the same place, so the caller
    /// proceeds and the throttle applies at the next registration.
    async fn put_repository(&self, repository: &RepositorySpec) -> Result<(), EngineError> {
        let wanted = parse::Registration::of(repository);
        let registered = self.registration(&repository.name).await?;
        if registered.as_ref() == Some(&wanted) {
            return Ok(());
        }
        let body = json!({"type": repository.kind, "settings": repository.settings});
        let path = format!("/_snapshot/{}?verify=true", segment(&repository.name));
        match self.call(Method::PUT, &path, Some(&body)).await {
            Err(e) if e.kind() == Some(&EngineErrorKind::RepositoryVerification) => {
                if let Err(cleanup) = self.delete_repository(&repository.name).await {
                    tracing::warn!(repository = %repository.name, error = %cleanup, "could not remove a repository that failed verification");
                }
                Err(e)
            }
            Err(e)
                if e.kind() == Some(&EngineErrorKind::RepositoryInUse)
                    && registered.is_some_and(|r| r.same_place(&wanted)) =>
            {
                Ok(())
            }
            other => other.map(drop),
        }
    }

    async fn delete_repository(&self, name: &str) -> Result<(), EngineError> {
        match self.call(Method::DELETE, &format!("/_snapshot/{}", segment(name)), None).await {
            Err(e) if e.kind() == Some(&EngineErrorKind::RepositoryMissing) => Ok(()),
            other => other.map(drop),
        }
    }

    async fn verify_repository(&self, name: &str) -> Result<(), EngineError> {
        self.call(Method::POST, &format!("/_snapshot/{}/_verify", segment(name)), None).await.map(drop)
    }

    async fn create_snapshot(
        &self,
        repository: &str,
        name: &str,
        request: &SnapshotRequest,
    ) -> Result<(), EngineError> {
        let mut body = json!({"ignore_unavailable": false, "partial": false});
        if !request.indices.is_empty() {
            body["indices"] = json!(request.indices.join(","));
        }
        if self.capabilities.snapshot_metadata {
            body["metadata"] = json!({"taken_by": request.taken_by});
        }
        let path = format!("/_snapshot/{}/{}?wait_for_completion=false", segment(repository), segment(name));
        self.call(Method::PUT, &path, Some(&body)).await.map(drop)
    }

    async fn get_snapshot(&self, repository: &str, name: &str) -> Result<Option<SnapshotInfo>, EngineError> {
        let path = format!("/_snapshot/{}/{}?ignore_unavailable=true", segment(repository), segment(name));
        match self.call(Method::GET, &path, None).await {
            Err(e) if e.kind() == Some(&EngineErrorKind::SnapshotMissing) => Ok(None),
            other => parse::single_snapshot(&other?, name),
        }
    }

    async fn all_snapshots(&self, repository: &str) -> Result<Vec<String>, EngineError> {
        let path = format!("/_snapshot/{}/_all", segment(repository));
        self.get_list::<parse::SnapshotNames>(&path).await?.names()
    }

    async fn existing_snapshots(&self, repository: &str, names: &[String]) -> Result<Vec<String>, EngineError> {
        let mut found = Vec::new();
        for chunk in batches(names, BATCH) {
            let path = format!("/_snapshot/{}/{}?ignore_unavailable=true", segment(repository), list(chunk));
            found.extend(self.get_list::<parse::SnapshotNames>(&path).await?.names()?);
        }
        Ok(found)
    }

    async fn snapshot_progress(&self, repository: &str, name: &str) -> Result<Option<SnapshotProgress>, EngineError> {
        let path = format!("/_snapshot/{}/{}/_status?ignore_unavailable=true", segment(repository), segment(name));
        match self.call(Method::GET, &path, None).await {
            Err(e) if e.kind() == Some(&EngineErrorKind::SnapshotMissing) => Ok(None),
            other => Ok(parse::status_progress(&other?, name)),
        }
    }

    async fn delete_snapshots(&self, repository: &str, names: &[String]) -> Result<(), EngineError> {
        let batch = if self.capabilities.multi_delete { BATCH } else { 1 };
        for chunk in batches(names, batch) {
            self.delete_batch(repository, chunk).await?;
        }
        Ok(())
    }

    async fn restore_snapshot(
        &self,
        repository: &str,
        name: &str,
        request: &RestoreRequest,
    ) -> Result<(), EngineError> {
        let mut body = json!({"include_global_state": false, "ignore_unavailable": false});
        if !request.indices.is_empty() {
            body["indices"] = json!(request.indices.join(","));
        }
        if let (Some(pattern), Some(replacement)) = (&request.rename_pattern, &request.rename_replacement) {
            body["rename_pattern"] = json!(pattern);
            body["rename_replacement"] = json!(replacement);
        }
        let path = format!("/_snapshot/{}/{}/_restore?wait_for_completion=false", segment(repository), segment(name));
        self.call(Method::POST, &path, Some(&body)).await.map(drop)
    }

    async fn index_states(&self, names: &[String]) -> Result<Vec<IndexState>, EngineError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let all: Vec<parse::CatIndex> = self.get_list("/_cat/indices?format=json&h=index,status").await?;
        Ok(all.into_iter().map(IndexState::from).filter(|state| names.contains(&state.name)).collect())
    }

    async fn close_indices(&self, names: &[String]) -> Result<(), EngineError> {
        for chunk in batches(names, BATCH) {
            self.call(Method::POST, &format!("/{}/_close", list(chunk)), None).await?;
        }
        Ok(())
    }

    async fn recovery(&self, names: &[String]) -> Result<Vec<ShardRecovery>, EngineError> {
        let mut out = Vec::new();
        for chunk in batches(names, BATCH) {
            let body =
                self.call(Method::GET, &format!("/{}/_recovery?ignore_unavailable=true", list(chunk)), None).await?;
            out.extend(parse::recovery(&body)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_multi_target_syntax_and_escape_the_rest() {
        assert_eq!(segment("a,b*"), "a,b*");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment("ä"), "%C3%A4");
    }

    /// The field report's restore: 105 indices with 47-character names made a 4 821-byte line.
    #[test]
    fn batches_keep_every_name_list_under_the_line_limit() {
        let names: Vec<String> = (0..105).map(|i| format!("{:0>47}", format!("logs-{i}"))).collect();
        let runs = batches(&names, BATCH);
        assert!(runs.len() > 1);
        assert!(runs.iter().all(|run| list(run).len() <= MAX_LIST_BYTES && run.len() <= BATCH));
        assert_eq!(runs.concat(), names, "every name once, in order");
        let wide: Vec<String> = (0..10).map(|i| format!("ä{i}")).collect();
        assert_eq!(batches(&wide, 3).iter().map(|r| r.len()).collect::<Vec<_>>(), [3, 3, 3, 1]);
        assert!(batches(&[], BATCH).is_empty());
    }
}
