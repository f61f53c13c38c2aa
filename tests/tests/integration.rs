//! Integration tests: real `essim` and `snapkeep` processes on loopback ports, driven through the
//! official SDKs, snapkeep's admin API and CLI.

mod integration {
    mod admin;
    mod alibaba;
    mod authentication;
    mod conformance;
    mod console;
    mod css_lifecycle;
    mod css_validation;
    mod dws;
    mod essim;
    mod faults;
    mod fleet;
    mod notify;
    mod performance;
    mod readme;
    mod replicas;
    mod restart;
    mod retention;
    mod scheduler;
    mod signatures;
    mod snapshots;
    mod storage;
    mod store_postgres;
    mod workers;
}
