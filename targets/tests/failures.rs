//! Failure paths: the distributed service down or hanging, and the binary's start-up errors
//! (busy port, bad or unreachable database, bad URL), each naming the value at fault.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use targets::ec::{ClientConfig, DistributedClient, EcState};
use tokio::sync::watch;

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Starts the EC app alone over a fresh SQLite file, calling the distributed service at `client`.
async fn ec_alone(
    dir: &std::path::Path,
    client: DistributedClient,
) -> (String, watch::Sender<bool>) {
    let db = targets::open_database(&targets::db::sqlite::default_url(dir), common::TEST_SCALE)
        .await
        .expect("db");
    let listener = targets::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, _) = watch::channel(false);
    targets::spawn_server(listener, targets::ec::app(EcState::new(db, client)), &stop);
    (url, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_down_is_a_quick_502_and_ec_stays_healthy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = DistributedClient::new(ClientConfig::new(format!(
        "http://127.0.0.1:{}",
        closed_port()
    )))
    .expect("client");
    let (ec, stop) = ec_alone(dir.path(), client).await;
    let http = reqwest::Client::new();

    for operation in ["n-plus-one", "slow-query", "database-error"] {
        let started = Instant::now();
        let response = http
            .get(format!("{ec}/distributed/{operation}?seconds=1"))
            .send()
            .await
            .expect("request");
        let elapsed = started.elapsed();
        let (status, body) = common::read(response).await;
        assert_eq!(status, 502, "{body}");
        common::assert_error_shape(&body, "distributed_unavailable");
        assert_eq!(body["details"]["reason"], "connection_failed", "{body}");
        assert_eq!(body["details"]["attempts"], 3, "2 retries: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("unreachable"),
            "{body}"
        );
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    }
    let response = http
        .get(format!("{ec}/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(response.status().as_u16(), 200);
    let _ = stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_hanging_is_a_504() {
    // A "distributed service" that accepts and never answers in time.
    let hang = axum::Router::new().route(
        "/{op}",
        axum::routing::post(|| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            "late"
        }),
    );
    let listener = targets::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let hang_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop_hang, _) = watch::channel(false);
    targets::spawn_server(listener, hang, &stop_hang);

    let dir = tempfile::tempdir().expect("tempdir");
    let client = DistributedClient::new(ClientConfig {
        timeout: Duration::from_millis(300),
        ..ClientConfig::new(hang_url)
    })
    .expect("client");
    let (ec, stop) = ec_alone(dir.path(), client).await;
    let response = reqwest::get(format!("{ec}/distributed/n-plus-one"))
        .await
        .expect("request");
    let (status, body) = common::read(response).await;
    assert_eq!(status, 504, "{body}");
    common::assert_error_shape(&body, "distributed_timeout");
    assert_eq!(body["details"]["reason"], "timeout");
    let _ = stop.send(true);
    let _ = stop_hang.send(true);
}

/// Runs the binary with `args`; returns (success, stderr).
fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_targets"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("DISTRIBUTED_SERVICE_URL")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .output()
        .expect("run targets");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn busy_port_names_the_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let data_dir = dir.path().to_string_lossy().into_owned();
    let (ok, stderr) = run(&[
        "distributed",
        "--port",
        &port,
        "--data-dir",
        &data_dir,
        "--scale",
        "1",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("in use"), "{stderr}");
}

#[test]
fn bad_and_unreachable_databases_are_named() {
    let port = closed_port().to_string();
    let (ok, stderr) = run(&[
        "distributed",
        "--port",
        &port,
        "--database-url",
        "mysql://db/x",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("unsupported database URL \"mysql://db/x\""),
        "{stderr}"
    );

    let port = closed_port().to_string();
    let unreachable = format!(
        "postgres://postgres:secret@127.0.0.1:{}/nope",
        closed_port()
    );
    let (ok, stderr) = run(&[
        "distributed",
        "--port",
        &port,
        "--database-url",
        &unreachable,
    ]);
    assert!(!ok);
    assert!(stderr.contains("cannot connect to database"), "{stderr}");
    assert!(
        stderr.contains("postgres://postgres:***@127.0.0.1"),
        "URL named, password hidden: {stderr}"
    );
    assert!(!stderr.contains("secret"), "{stderr}");
}

#[test]
fn bad_distributed_url_is_named() {
    let port = closed_port().to_string();
    let (ok, stderr) = run(&[
        "ec",
        "--port",
        &port,
        "--distributed-url",
        "ftp://example/x",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("bad distributed service URL \"ftp://example/x\""),
        "{stderr}"
    );
}
