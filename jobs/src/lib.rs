//! Background work: the reconciler worker that drives every durable operation to its end.

mod reconciler;

pub use reconciler::ReconcilerWorker;
