//! The notifier worker: every round it turns ended operations into webhook deliveries, notices
//! clusters turning late or failing (at its own, slower interval: it reads the whole fleet), and
//! posts the deliveries that are due, a few at a time and each within `POST_TIMEOUT`, apart from
//! every snapshot job so a slow receiver never holds snapshots up.

use std::time::Duration;

use async_trait::async_trait;
use snapkeep_core::{Outgoing, Snapkeep};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::supervisor::{Pace, WorkError, Worker};

/// How long a receiver has to answer a post.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries posted at once.
const POSTS_PER_ROUND: u32 = 16;

pub struct NotifierWorker {
    core: Snapkeep,
    client: reqwest::Client,
    interval: Duration,
    /// How often the fleet's protection is compared with what was recorded.
    watch_every: Duration,
    last_watch: Option<Instant>,
}

impl NotifierWorker {
    /// Errors: the HTTP client could not be built (no TLS roots).
    pub fn new(core: Snapkeep, interval: Duration, watch_every: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(POST_TIMEOUT)
            .connect_timeout(POST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("snapkeep/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { core, client, interval, watch_every, last_watch: None })
    }
}

#[async_trait]
impl Worker for NotifierWorker {
    fn name(&self) -> &'static str {
        "notifier"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    /// One round: events made of ended operations and protection changes, then one batch of
    /// posts; again at once while a batch was full.
    async fn work(&mut self) -> Result<Pace, WorkError> {
        self.core.notify_finished_operations().await?;
        if self.last_watch.is_none_or(|last| last.elapsed() >= self.watch_every) {
            self.last_watch = Some(Instant::now());
            self.core.watch_protection().await?;
        }
        let due = self.core.claim_deliveries(POSTS_PER_ROUND).await?;
        let full = due.len() == POSTS_PER_ROUND as usize;
        let mut posts = JoinSet::new();
        for outgoing in due {
            posts.spawn(post(self.client.clone(), outgoing));
        }
        while let Some(done) = posts.join_next().await {
            let (outgoing, outcome) = done.map_err(|e| WorkError::Fatal(format!("a webhook post panicked: {e}")))?;
            self.core.delivery_ended(outgoing.delivery, outcome).await?;
        }
        Ok(if full { Pace::More } else { Pace::Idle })
    }
}

/// Posts `outgoing`: its status, or why no answer came (the body is never read).
async fn post(client: reqwest::Client, outgoing: Outgoing) -> (Outgoing, Result<u16, String>) {
    let mut request = client.post(&outgoing.url).body(outgoing.delivery.body.clone());
    for (name, value) in &outgoing.headers {
        request = request.header(name, value);
    }
    let outcome = match request.send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(e) if e.is_timeout() => Err(format!("the receiver did not answer within {}s", POST_TIMEOUT.as_secs())),
        Err(e) => Err(format!("the post failed: {}", without_url(e))),
    };
    (outgoing, outcome)
}

/// The error's text without the URL, which may carry a secret.
fn without_url(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}
