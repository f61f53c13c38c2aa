//! The Elasticsearch/OpenSearch driver: snapkeep's `SearchEngine` over the engines' REST API,
//! for Elasticsearch 6.8–8.x and OpenSearch 1.x–3.x. What differs between versions is decided
//! once, by `Capabilities`; the parsers of engine answers are pure functions in `parse`.

mod client;
mod parse;

pub use client::{HttpEngine, HttpEngineConnector};
