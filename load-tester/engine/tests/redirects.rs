//! A target cannot send the load elsewhere: redirects are followed within the origin they
//! started from and never to another host or port (the control server's allow-list judged
//! only the scenario's own URLs). One test per file: Goose allows one run per process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use lt_engine::{Engine, RunOptions};
use lt_protocol::EndReason;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_within_the_origin_only() {
    let elsewhere_hits = Arc::new(AtomicU64::new(0));
    let landed = Arc::new(AtomicU64::new(0));
    let hits = Arc::clone(&elsewhere_hits);
    let elsewhere = serve(Router::new().route(
        "/stolen",
        get(move || {
            hits.fetch_add(1, Ordering::Relaxed);
            async { "load you were not meant to get" }
        }),
    ))
    .await;
    let away = format!("{elsewhere}/stolen");
    let landing = Arc::clone(&landed);
    let target = serve(
        Router::new()
            .route("/same", get(|| async { Redirect::temporary("/landing") }))
            .route(
                "/landing",
                get(move || {
                    landing.fetch_add(1, Ordering::Relaxed);
                    async { "ok" }
                }),
            )
            .route(
                "/away",
                get(move || async move { Redirect::temporary(&away) }),
            ),
    )
    .await;

    let yaml = format!(
        "name: redirects\ntarget: {target}\nload:\n  users: 2\n  duration: 2s\n  think_time: {{ min: 10ms, max: 20ms }}\nendpoints:\n  - {{ name: same, path: /same }}\n  - {{ name: away, path: /away, expect: [307] }}\nprotection:\n  max_errors_per_minute: off\n"
    );
    let scenario = lt_scenario::parse("redirects.yaml", &yaml).expect("valid scenario");
    let (engine, _handle) = Engine::new(scenario, RunOptions::default()).unwrap();
    let report = engine.run().await.unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);

    let by_name = |n: &str| report.endpoints.iter().find(|e| e.name == n).unwrap();
    assert!(by_name("same").requests > 0);
    assert_eq!(
        by_name("same").failures,
        0,
        "same-origin redirects are followed"
    );
    assert!(landed.load(Ordering::Relaxed) > 0);
    assert!(by_name("away").requests > 0);
    assert_eq!(
        by_name("away").failures,
        0,
        "the redirect to another origin is the answer (307, as expected)"
    );
    assert_eq!(
        elsewhere_hits.load(Ordering::Relaxed),
        0,
        "no request followed the redirect to another origin"
    );
}
