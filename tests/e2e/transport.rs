//! The request path's HTTP client from outside: HTTPS against a local server whose certificate
//! a self-signed authority signed (trusted through `tls.ca_file`, refused without it, accepted
//! with the loudly flagged `insecure_skip_verify`), and transport failures classified as they
//! always were: refused connection, no answer in time, a target that closes the connection
//! before answering or in the middle of its answer.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{load_tester, read_json};
use lt_testkit::{RunResult, write_scenario};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

const TLS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/e2e/tls");

/// How the test server answers each request.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// `200 ok`, keeping the connection.
    Ok,
    /// A head promising 100 bytes, 10 of them, then the connection closed.
    Cut,
    /// The connection closed without an answer.
    Drop,
    /// Never an answer; the connection stays open.
    Hang,
}

/// A plain HTTP/1.1 server on 127.0.0.1 answering every request with `answer`; counts the
/// requests it read. Returns its port.
async fn serve(answer: Answer, tls: Option<tokio_rustls::TlsAcceptor>) -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let counter = Arc::clone(&counter);
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            answer_on(stream, answer, &counter).await;
                        }
                    }
                    None => answer_on(tcp, answer, &counter).await,
                }
            });
        }
    });
    (port, count)
}

async fn answer_on<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    answer: Answer,
    count: &AtomicU64,
) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // One request head (the test's requests have no body).
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let end = seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        seen.drain(..end);
        count.fetch_add(1, Ordering::Relaxed);
        match answer {
            Answer::Ok => {
                let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                if stream.write_all(ok).await.is_err() {
                    return;
                }
            }
            Answer::Cut => {
                let head = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789";
                let _ = stream.write_all(head).await;
                let _ = stream.shutdown().await;
                return;
            }
            Answer::Drop => return,
            Answer::Hang => {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                return;
            }
        }
    }
}

/// An acceptor with the test certificate for `localhost` and 127.0.0.1.
fn acceptor() -> tokio_rustls::TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(format!("{TLS_DIR}/server.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(format!("{TLS_DIR}/server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// A scenario of one endpoint against `https://localhost:{port}` with `tls` (YAML) in `dir`,
/// with the test authority beside it as `ca.pem`.
fn https_scenario(dir: &Path, port: u16, tls: &str) -> std::path::PathBuf {
    std::fs::copy(format!("{TLS_DIR}/ca.pem"), dir.join("ca.pem")).unwrap();
    let yaml = format!(
        "name: https\ntarget: https://localhost:{port}\nload:\n  users: 2\n  duration: 2s\n  think_time: {{ min: 20ms, max: 40ms }}\nendpoints:\n  - {{ name: secure, path: /secure }}\nprotection:\n  max_errors_per_minute: off\n{tls}\n"
    );
    write_scenario(dir, "https.yaml", &yaml)
}

/// Runs `file` with a JSON report beside it and `extra` arguments; the result and the report.
async fn run(file: &Path, extra: &[&str]) -> (RunResult, serde_json::Value) {
    let report = file.with_file_name("report.json");
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = load_tester(&args).await;
    assert!(out.code.is_some(), "{}\n{}", out.stdout, out.stderr);
    (out, read_json(&report))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_trusted_through_the_scenarios_ca_file_and_goose_reports_every_request() {
    let (port, received) = serve(Answer::Ok, Some(acceptor())).await;
    let dir = tempfile::tempdir().unwrap();
    let file = https_scenario(dir.path(), port, "tls:\n  ca_file: ca.pem");
    let goose = dir.path().join("goose.html");
    let (out, json) = run(&file, &["--goose-html", goose.to_str().unwrap()]).await;
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let endpoint = &json["endpoints"][0];
    let requests = endpoint["requests"].as_u64().unwrap();
    assert!(requests > 10, "{json}");
    assert_eq!(endpoint["failures"], 0, "{json}");
    assert_eq!(received.load(Ordering::Relaxed), requests);
    assert!(json.get("insecure_tls").is_none(), "{json}");
    assert!(!out.stderr.contains("insecure"), "{}", out.stderr);
    // Goose's own report lists the requests, sent by our client and recorded as custom ones.
    let html = std::fs::read_to_string(&goose).unwrap();
    assert!(
        html.contains("GET secure"),
        "Goose's report lists the endpoint"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_an_unknown_authority_fails_to_connect_and_says_why() {
    let (port, received) = serve(Answer::Ok, Some(acceptor())).await;
    let dir = tempfile::tempdir().unwrap();
    let file = https_scenario(dir.path(), port, "");
    let (out, json) = run(&file, &[]).await;
    assert_ne!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let endpoint = &json["endpoints"][0];
    assert_eq!(
        endpoint["failures_by_class"]["connect"], endpoint["failures"],
        "{json}"
    );
    assert_eq!(received.load(Ordering::Relaxed), 0);
    let message = json["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("certificate"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_skip_verify_works_and_is_flagged_in_the_output_and_every_report() {
    let (port, _) = serve(Answer::Ok, Some(acceptor())).await;
    let dir = tempfile::tempdir().unwrap();
    let file = https_scenario(dir.path(), port, "tls:\n  insecure_skip_verify: true");
    let (junit, html) = (dir.path().join("j.xml"), dir.path().join("r.html"));
    let (out, json) = run(
        &file,
        &[
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let warning = "tls.insecure_skip_verify is on";
    assert!(out.stderr.contains(warning), "{}", out.stderr);
    assert!(out.stdout.contains(warning), "{}", out.stdout);
    assert_eq!(json["insecure_tls"], true, "{json}");
    assert_eq!(json["endpoints"][0]["failures"], 0, "{json}");
    assert!(std::fs::read_to_string(&junit).unwrap().contains(warning));
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("id=\"insecure-tls\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_failures_are_classified_as_before() {
    let (ok, _) = serve(Answer::Ok, None).await;
    let (cut, _) = serve(Answer::Cut, None).await;
    let (dropped, _) = serve(Answer::Drop, None).await;
    let (hang, _) = serve(Answer::Hang, None).await;
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "name: failures\ntarget: http://127.0.0.1:{ok}\nload:\n  users: 4\n  duration: 3s\n  think_time: {{ min: 20ms, max: 40ms }}\nendpoints:\n  - {{ name: fine, path: /fine }}\n  - {{ name: refused, path: 'http://127.0.0.1:{refused}/x' }}\n  - {{ name: cut, path: 'http://127.0.0.1:{cut}/x' }}\n  - {{ name: dropped, path: 'http://127.0.0.1:{dropped}/x' }}\n  - {{ name: hang, path: 'http://127.0.0.1:{hang}/x', timeout: 300ms }}\nprotection:\n  max_errors_per_minute: off\n"
    );
    let file = write_scenario(dir.path(), "failures.yaml", &yaml);
    let (_, json) = run(&file, &[]).await;
    let endpoint = |name: &str| {
        json["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {json}"))
            .clone()
    };
    let only = |name: &str, class: &str| {
        let e = endpoint(name);
        let failures = e["failures"].as_u64().unwrap();
        assert!(failures > 0, "{name}: {e}");
        assert_eq!(e["failures_by_class"][class], failures, "{name}: {e}");
    };
    assert_eq!(endpoint("fine")["failures"], 0);
    only("refused", "connect");
    only("dropped", "connect");
    only("hang", "timeout");
    only("cut", "unexpected");
    let messages: Vec<&str> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.starts_with("reading the body")),
        "{messages:?}"
    );
}
