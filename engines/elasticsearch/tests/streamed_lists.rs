//! Snapshot lists read as they stream in, against a raw loopback server: a list larger than any
//! other answer may be is read whole in the memory of its names, and a list answer reports what
//! the cluster reports. In a test binary of its own, so that the memory measured is this test's.

use std::sync::Arc;
use std::time::Duration;

use snapkeep_core::{
    EngineConnector, EngineEndpoint, EngineErrorKind, EngineFlavor, EngineInfo, EngineVersion, SearchEngine,
};
use snapkeep_engine_elasticsearch::HttpEngineConnector;

/// A loopback server answering one request with `status` and `chunks` (chunked encoding),
/// each chunk made only when it is sent: its URL.
async fn answer_once(status: &'static str, chunks: impl Iterator<Item = String> + Send + 'static) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(socket.read_u8().await.unwrap());
        }
        let start =
            format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        socket.write_all(start.as_bytes()).await.unwrap();
        for chunk in chunks {
            socket.write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes()).await.unwrap();
        }
        socket.write_all(b"0\r\n\r\n").await.unwrap();
    });
    url
}

fn engine_at(url: String) -> Arc<dyn SearchEngine> {
    let endpoint = EngineEndpoint { url, username: None, password: None };
    let info = EngineInfo {
        flavor: EngineFlavor::Elasticsearch,
        version: EngineVersion::new(7, 10, 2),
        cluster_name: "c".into(),
    };
    HttpEngineConnector::new(Duration::from_secs(60)).unwrap().connect(endpoint, &info)
}

fn peak_resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// A repository of 30 000 snapshots of 200 indices each answers `_all` with about 100 MiB,
/// more than the 64 MiB any other answer may be: the list is read whole, holding only its names.
#[tokio::test]
async fn a_snapshot_list_larger_than_any_answer_is_read_as_it_streams() {
    const SNAPSHOTS: usize = 30_000;
    let indices: Vec<String> = (0..200).map(|i| format!("\"logs-2026.11.{i:06}\"")).collect();
    let indices = indices.join(",");
    let entries = (0..SNAPSHOTS).map(move |i| {
        let comma = if i == 0 { "" } else { "," };
        format!(
            "{comma}{{\"snapshot\":\"snap-{i:05}\",\"uuid\":\"u{i}\",\"state\":\"SUCCESS\",\"indices\":[{indices}]}}"
        )
    });
    let body = std::iter::once("{\"snapshots\":[".to_owned()).chain(entries).chain(std::iter::once("]}".to_owned()));
    let engine = engine_at(answer_once("200 OK", body).await);
    let before = peak_resident_bytes();
    let names = engine.all_snapshots("logs").await.unwrap();
    let grown = peak_resident_bytes().saturating_sub(before);
    println!("a {SNAPSHOTS}-snapshot list (about 100 MiB) read; peak resident memory grew {} MiB", grown >> 20);
    assert_eq!(names.len(), SNAPSHOTS);
    assert_eq!((names[0].as_str(), names[SNAPSHOTS - 1].as_str()), ("snap-00000", "snap-29999"));
    assert!(grown < 32 << 20, "memory grew {grown} bytes");
}

#[tokio::test]
async fn a_streamed_list_reports_what_the_cluster_reports() {
    let missing =
        r#"{"error":{"root_cause":[],"type":"repository_missing_exception","reason":"[logs] missing"},"status":404}"#;
    let engine = engine_at(answer_once("404 Not Found", std::iter::once(missing.to_owned())).await);
    let refused = engine.all_snapshots("logs").await.unwrap_err();
    assert_eq!(refused.kind(), Some(&EngineErrorKind::RepositoryMissing), "{refused}");
    let nameless = std::iter::once(r#"{"snapshots":[{"uuid":"u"}]}"#.to_owned());
    let refused = engine_at(answer_once("200 OK", nameless).await).all_snapshots("logs").await.unwrap_err();
    assert!(refused.to_string().contains("not the list asked for"), "{refused}");
    let cut = std::iter::once(r#"{"snapshots":[{"snapshot":"a"},"#.to_owned());
    assert!(engine_at(answer_once("200 OK", cut).await).all_snapshots("logs").await.is_err());
}
