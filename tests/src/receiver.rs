//! A webhook receiver for tests: an HTTP server on loopback that records every post (path,
//! headers, body) and answers `503` to the first `refuse_first` posts of each path, `200` after.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};

/// One post as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    /// The status it was answered with.
    pub status: u16,
}

#[derive(Default)]
struct Log {
    posts: Vec<Received>,
    refuse_first: usize,
}

/// The running receiver; it stops with the test process.
pub struct WebhookReceiver {
    pub url: String,
    log: Arc<Mutex<Log>>,
}

impl WebhookReceiver {
    /// Starts on a free loopback port; the first `refuse_first` posts of each path get 503.
    pub fn start(refuse_first: usize) -> Self {
        let log = Arc::new(Mutex::new(Log { posts: Vec::new(), refuse_first }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = Router::new().fallback(receive).with_state(log.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await.expect("receiver serves");
            });
        });
        Self { url, log }
    }

    /// Every post so far, in arrival order.
    pub fn posts(&self) -> Vec<Received> {
        self.log.lock().expect("log").posts.clone()
    }

    /// Waits up to `timeout` until `done` holds for the posts; the posts then (or at the timeout).
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let posts = self.posts();
            if done(&posts) || Instant::now() > deadline {
                return posts;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

async fn receive(State(log): State<Arc<Mutex<Log>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut log = log.lock().expect("log");
    let path = uri.path().to_owned();
    let seen = log.posts.iter().filter(|p| p.path == path).count();
    let status = if seen < log.refuse_first { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = String::from_utf8_lossy(&body).into_owned();
    log.posts.push(Received { path, headers, body, status: status.as_u16() });
    status
}
