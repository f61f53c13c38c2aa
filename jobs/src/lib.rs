//! Background work under one supervisor: the scheduler that decides automatic snapshots and
//! retention, the reconciler pools (one per lane) that drive every durable operation to its
//! end, the presence worker that keeps this replica announced to the catalog, and the notifier
//! that posts webhook events.

mod notifier;
mod presence;
mod reconciler;
mod scheduler;
mod supervisor;

pub use notifier::{NotifierWorker, POST_TIMEOUT};
pub use presence::PresenceWorker;
pub use reconciler::ReconcilerWorker;
pub use scheduler::SchedulerWorker;
pub use supervisor::{Pace, StatusBoard, Supervisor, WorkError, Worker, WorkerState, WorkerStatus};
