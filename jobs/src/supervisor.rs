//! The supervisor of snapkeep's background workers. It runs each worker in a task of its own:
//! calls it again at once while it has more to do, after its interval (or sooner, when the worker
//! is woken) when it is idle, and after a growing pause when it failed. It keeps each worker's
//! status for `/healthz` and the metrics, and stops every worker within one deadline: what is
//! still in flight then is dropped, and resumes from the store at the next start exactly as
//! after a crash (leases of this node are released at start).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use snapkeep_core::{CoreError, Metrics};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The longest pause after consecutive failures, in multiples of the worker's interval.
const MAX_BACKOFF_FACTOR: u32 = 20;

/// Why a unit of work failed; the supervisor logs it, shows it in the status and backs off.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The service must not go on: the supervisor stops every worker and reports the reason
    /// through [`Supervisor::fatal`].
    #[error("{0}")]
    Fatal(String),
}

/// What a worker says after a unit of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// There is more to do now: call again at once.
    More,
    /// Nothing more for now: call again after the interval, or when woken.
    Idle,
}

/// A background worker: does units of work until the supervisor stops it.
#[async_trait]
pub trait Worker: Send + 'static {
    /// Its name in the status, the logs and the metrics.
    fn name(&self) -> &'static str;
    /// How long to wait while idle.
    fn interval(&self) -> Duration;
    /// Does one unit of work (it may leave work running in tasks of its own).
    async fn work(&mut self) -> Result<Pace, WorkError>;
    /// Whether failures lengthen the pause before the next unit (yes by default); a worker whose
    /// cadence is a promise to others (a presence announcement) keeps its interval.
    fn backs_off(&self) -> bool {
        true
    }
    /// Resolves when the worker has something to do before its interval is over (work it left
    /// running ended). By default, never.
    async fn woken(&mut self) {
        std::future::pending::<()>().await;
    }
    /// Waits for the work it left running. The supervisor bounds this by its stop deadline.
    async fn drain(&mut self) {}
}

/// A worker's state as the status shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    Running,
    /// Its last unit of work failed; it waits before trying again.
    BackingOff,
    /// Stopped at shutdown (or its task ended).
    Stopped,
}

/// One worker's status.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerStatus {
    pub state: WorkerState,
    /// Units of work that failed in a row (0 after a success).
    pub consecutive_failures: u32,
    /// Units of work that failed since start.
    pub failures_total: u64,
    /// The reason of the last failure, until a unit of work succeeds.
    pub last_error: Option<String>,
}

/// Every worker's status, by name; shared with `/healthz`, and published to the metrics
/// (`snapkeep_worker_up`, `snapkeep_worker_failures`) at every change when given them.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    statuses: Arc<Mutex<BTreeMap<&'static str, WorkerStatus>>>,
    metrics: Option<Metrics>,
}

impl StatusBoard {
    /// A copy of every worker's status.
    pub fn snapshot(&self) -> BTreeMap<&'static str, WorkerStatus> {
        self.statuses.lock().expect("status lock").clone()
    }

    /// Whether every worker is running (none backing off or stopped).
    pub fn healthy(&self) -> bool {
        self.statuses.lock().expect("status lock").values().all(|s| s.state == WorkerState::Running)
    }

    fn update(&self, name: &'static str, change: impl FnOnce(&mut WorkerStatus)) {
        let mut board = self.statuses.lock().expect("status lock");
        let status = board.entry(name).or_insert(WorkerStatus {
            state: WorkerState::Running,
            consecutive_failures: 0,
            failures_total: 0,
            last_error: None,
        });
        change(status);
        if let Some(metrics) = &self.metrics {
            metrics.set_worker(name, status.state == WorkerState::Running, status.failures_total);
        }
    }
}

/// Runs workers until told to stop.
pub struct Supervisor {
    workers: Vec<Box<dyn Worker>>,
    board: StatusBoard,
    fatal: Arc<watch::Sender<Option<String>>>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self { workers: Vec::new(), board: StatusBoard::default(), fatal: Arc::new(watch::channel(None).0) }
    }
}

impl Supervisor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes every worker's state to `metrics` (before any worker is added).
    pub fn reporting_to(mut self, metrics: Metrics) -> Self {
        self.board.metrics = Some(metrics);
        self
    }

    /// The reason a worker failed fatally, once one did; the service should then stop.
    pub fn fatal(&self) -> watch::Receiver<Option<String>> {
        self.fatal.subscribe()
    }

    pub fn with(mut self, worker: impl Worker) -> Self {
        self.board.update(worker.name(), |_| {});
        self.workers.push(Box::new(worker));
        self
    }

    /// The status board, for `/healthz` and the metrics.
    pub fn status(&self) -> StatusBoard {
        self.board.clone()
    }

    /// Runs every worker until `stop` turns true, then gives them `grace` to finish what is in
    /// flight; a worker still busy then is dropped with its work (which resumes at the next start).
    pub async fn run(self, stop: watch::Receiver<bool>, grace: Duration) {
        let mut tasks = JoinSet::new();
        for worker in self.workers {
            tasks.spawn(supervise(worker, (self.board.clone(), self.fatal.clone()), stop.clone(), grace));
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// One worker's loop, then its drain within `grace` of the stop. A fatal failure ends the loop
/// and is reported on `fatal`.
async fn supervise(
    mut worker: Box<dyn Worker>,
    (board, fatal): (StatusBoard, Arc<watch::Sender<Option<String>>>),
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let name = worker.name();
    let mut failures: u32 = 0;
    while !*stop.borrow() {
        let pause = match worker.work().await {
            Err(WorkError::Fatal(reason)) => {
                tracing::error!(worker = name, error = %reason, "background work failed fatally; stopping");
                board.update(name, |s| s.last_error = Some(reason.clone()));
                fatal.send_replace(Some(reason));
                break;
            }
            Ok(Pace::More) => {
                succeeded(&board, name, &mut failures);
                tokio::task::yield_now().await;
                continue;
            }
            Ok(Pace::Idle) => {
                succeeded(&board, name, &mut failures);
                worker.interval()
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::error!(worker = name, error = %e, failures, "background work failed");
                board.update(name, |s| {
                    s.state = WorkerState::BackingOff;
                    s.consecutive_failures = failures;
                    s.failures_total += 1;
                    s.last_error = Some(e.to_string());
                });
                let factor = if worker.backs_off() { failures.min(MAX_BACKOFF_FACTOR) } else { 1 };
                worker.interval().saturating_mul(factor)
            }
        };
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(pause) => {}
            () = worker.woken(), if failures == 0 => {}
        }
    }
    if tokio::time::timeout(grace, worker.drain()).await.is_err() {
        tracing::warn!(
            worker = name,
            grace_secs = grace.as_secs_f64(),
            "work still in flight at the stop deadline was dropped; it resumes at the next start"
        );
    }
    board.update(name, |s| s.state = WorkerState::Stopped);
    tracing::info!("{name} stopped");
}

/// Marks a worker that failed before as running again, saying so in the log.
fn succeeded(board: &StatusBoard, name: &'static str, failures: &mut u32) {
    if *failures > 0 {
        tracing::info!(worker = name, failed = *failures, "background work recovered");
        *failures = 0;
        board.update(name, |s| {
            s.state = WorkerState::Running;
            s.consecutive_failures = 0;
            s.last_error = None;
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Fails `failing` times, then has `more` units to do, then idles; its drain takes `drain`.
    struct Scripted {
        failing: u32,
        more: u32,
        calls: Arc<AtomicU32>,
        drain: Duration,
    }

    #[async_trait]
    impl Worker for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }

        fn interval(&self) -> Duration {
            Duration::from_millis(10)
        }

        async fn work(&mut self) -> Result<Pace, WorkError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.failing > 0 {
                self.failing -= 1;
                return Err(CoreError::SnapshotNotReady.into());
            }
            if self.more > 0 {
                self.more -= 1;
                return Ok(Pace::More);
            }
            Ok(Pace::Idle)
        }

        async fn drain(&mut self) {
            tokio::time::sleep(self.drain).await;
        }
    }

    fn scripted(failing: u32, more: u32, drain: Duration) -> (Scripted, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        (Scripted { failing, more, calls: calls.clone(), drain }, calls)
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_and_show_until_work_succeeds() {
        let (worker, calls) = scripted(3, 0, Duration::ZERO);
        let metrics = Metrics::default();
        let supervisor = Supervisor::new().reporting_to(metrics.clone()).with(worker);
        let board = supervisor.status();
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(supervisor.run(stopped, Duration::from_secs(1)));
        // Pauses of 10, 20 and 30 ms after the three failures.
        tokio::time::sleep(Duration::from_millis(25)).await;
        let status = board.snapshot()["scripted"].clone();
        assert_eq!((status.state, status.consecutive_failures), (WorkerState::BackingOff, 2));
        assert!(!board.healthy());
        assert!(metrics.render(None).contains("snapkeep_worker_up{worker=\"scripted\"} 0\n"));
        tokio::time::sleep(Duration::from_millis(60)).await;
        let status = board.snapshot()["scripted"].clone();
        assert_eq!((status.state, status.failures_total, status.last_error), (WorkerState::Running, 3, None));
        assert!(calls.load(Ordering::SeqCst) >= 4);
        stop.send(true).unwrap();
        running.await.unwrap();
        assert_eq!(board.snapshot()["scripted"].state, WorkerState::Stopped);
    }

    #[tokio::test(start_paused = true)]
    async fn more_work_is_done_at_once_and_idle_waits_the_interval() {
        let (worker, calls) = scripted(0, 5, Duration::ZERO);
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(Supervisor::new().with(worker).run(stopped, Duration::from_secs(1)));
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 6, "five units at once, then one idle call");
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 7, "one more after the interval");
        stop.send(true).unwrap();
        running.await.unwrap();
    }

    /// Fails fatally at once.
    struct Doomed;

    #[async_trait]
    impl Worker for Doomed {
        fn name(&self) -> &'static str {
            "doomed"
        }

        fn interval(&self) -> Duration {
            Duration::from_millis(10)
        }

        async fn work(&mut self) -> Result<Pace, WorkError> {
            Err(WorkError::Fatal("the key was rotated".into()))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fatal_failure_stops_its_worker_and_is_reported() {
        let (steady, calls) = scripted(0, 0, Duration::ZERO);
        let supervisor = Supervisor::new().with(Doomed).with(steady);
        let (board, mut fatal) = (supervisor.status(), supervisor.fatal());
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(supervisor.run(stopped, Duration::from_secs(1)));
        let reason = fatal.wait_for(Option::is_some).await.unwrap().clone();
        assert_eq!(reason.as_deref(), Some("the key was rotated"));
        tokio::time::sleep(Duration::from_millis(25)).await;
        let doomed = board.snapshot()["doomed"].clone();
        assert_eq!((doomed.state, doomed.last_error.as_deref()), (WorkerState::Stopped, Some("the key was rotated")));
        assert!(!board.healthy(), "a stopped worker shows");
        assert!(calls.load(Ordering::SeqCst) >= 2, "the others run until the service stops");
        stop.send(true).unwrap();
        running.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_within_the_grace_however_long_the_work_in_flight() {
        let (worker, _) = scripted(0, 0, Duration::from_secs(3600));
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(Supervisor::new().with(worker).run(stopped, Duration::from_secs(2)));
        tokio::time::sleep(Duration::from_millis(5)).await;
        let asked = tokio::time::Instant::now();
        stop.send(true).unwrap();
        running.await.unwrap();
        assert_eq!(asked.elapsed(), Duration::from_secs(2), "stopped at the deadline, not after the drain");
    }
}
