//! The REST calls tests make to a search cluster, the same for essim and a real engine: raw calls,
//! loading an index, counting and reading its documents back, listing snapshots.

use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::{Value, json};

/// A client of one cluster's REST API.
pub struct ClusterClient {
    /// Base URL including any path prefix.
    pub url: String,
    http: Client,
    auth: Option<(String, String)>,
    /// What to show when a call cannot be sent (the server's log).
    diagnose: Box<dyn Fn() -> String + Send + Sync>,
}

impl ClusterClient {
    /// `auth` is `user:password` for HTTP basic authentication.
    pub fn new(url: String, auth: Option<&str>, diagnose: Box<dyn Fn() -> String + Send + Sync>) -> Self {
        let auth = auth.and_then(|a| a.split_once(':')).map(|(u, p)| (u.to_owned(), p.to_owned()));
        let http = Client::builder().timeout(Duration::from_secs(60)).build().expect("http client");
        Self { url, http, auth, diagnose }
    }

    fn request(&self, method: &str, path: &str) -> reqwest::blocking::RequestBuilder {
        let request = self.http.request(method.parse().expect("method"), format!("{}{path}", self.url));
        match &self.auth {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    /// Any call; `Err` only when nothing answered.
    pub fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> reqwest::Result<(u16, Value)> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send()?;
        let status = response.status().as_u16();
        let text = response.text()?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// Any call; returns status and JSON body.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {}{path}: {e}\n{}", self.url, (self.diagnose)()))
    }

    /// A call that must answer 2xx; returns the body.
    pub fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, path, body);
        assert!((200..300).contains(&status), "{method} {path} answered {status}: {answer}");
        answer
    }

    /// Creates an index with `shards` shards and `docs` documents, searchable at once.
    pub fn load_index(&self, index: &str, shards: u32, docs: usize) {
        self.load_index_with_noise(index, shards, docs, 0);
    }

    /// As `load_index`, each document also carrying `noise` bytes that do not compress (hex of
    /// a fixed pseudo-random sequence), so snapshots and restores of it take time under a throttle.
    pub fn load_index_with_noise(&self, index: &str, shards: u32, docs: usize, noise: usize) {
        let settings = json!({"settings": {"number_of_shards": shards, "number_of_replicas": 0}});
        self.ok("PUT", &format!("/{index}"), Some(settings));
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut bulk = String::new();
        for i in 0..docs {
            let noise: String = (0..noise.div_ceil(16))
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    format!("{state:016x}")
                })
                .collect();
            bulk.push_str(&format!("{{\"index\":{{\"_index\":\"{index}\",\"_id\":\"{i}\"}}}}\n{{\"n\":{i},\"text\":\"document number {i} of {index}, padded to take some room on disk\",\"noise\":\"{noise}\"}}\n"));
        }
        let response = self
            .request("POST", "/_bulk?refresh=true")
            .header("content-type", "application/x-ndjson")
            .body(bulk)
            .send()
            .expect("bulk");
        let status = response.status();
        let answer: Value = response.json().expect("bulk answer");
        assert!(status.is_success() && answer["errors"] == json!(false), "bulk answered {status}: {answer}");
    }

    pub fn count(&self, index: &str) -> u64 {
        self.ok("GET", &format!("/{index}/_count"), None)["count"].as_u64().expect("count")
    }

    /// Every document of an index as `(id, source)`, by id: what a restore must bring back.
    pub fn documents(&self, index: &str) -> Vec<(String, Value)> {
        let body = json!({"query": {"match_all": {}}, "size": 10_000});
        let answer = self.ok("POST", &format!("/{index}/_search"), Some(body));
        let mut documents: Vec<(String, Value)> = answer["hits"]["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|hit| (hit["_id"].as_str().expect("_id").to_owned(), hit["_source"].clone()))
            .collect();
        documents.sort_by(|a, b| a.0.cmp(&b.0));
        documents
    }

    /// Names of the snapshots in a repository (finished and running).
    pub fn snapshot_names(&self, repository: &str) -> Vec<String> {
        self.snapshots_matching(repository, "_all")
    }

    /// Names of the snapshots still running in a repository.
    pub fn running_snapshots(&self, repository: &str) -> Vec<String> {
        self.snapshots_matching(repository, "_current")
    }

    fn snapshots_matching(&self, repository: &str, expr: &str) -> Vec<String> {
        let body = self.ok("GET", &format!("/_snapshot/{repository}/{expr}"), None);
        let names = body["snapshots"].as_array().expect("snapshots").iter();
        names.map(|s| s["snapshot"].as_str().expect("name").to_owned()).collect()
    }
}
