//! Background work under one supervisor: the scheduler that decides automatic snapshots and
//! retention, and the reconciler pools (one per lane) that drive every durable operation to its
//! end.

mod reconciler;
mod scheduler;
mod supervisor;

pub use reconciler::ReconcilerWorker;
pub use scheduler::SchedulerWorker;
pub use supervisor::{Pace, StatusBoard, Supervisor, WorkError, Worker, WorkerState, WorkerStatus};
