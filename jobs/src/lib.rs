//! Background work: the scheduler that decides automatic snapshots and retention, and the
//! reconciler that drives every durable operation to its end.

mod reconciler;
mod scheduler;

pub use reconciler::ReconcilerWorker;
pub use scheduler::SchedulerWorker;
