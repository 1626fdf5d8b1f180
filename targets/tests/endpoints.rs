//! Every endpoint's status, JSON shape and real query count, on SQLite and (when
//! `TEST_DATABASE_URL` is set) on PostgreSQL, plus the query plans of the full scan and the join.

mod common;

use common::{Kind, TestLab, assert_error_shape, assert_perf_shape};
use targets::db::{Backend, Param};

/// Runs `check` on a fresh lab of each database kind.
macro_rules! on_both {
    ($($name:ident => $check:ident;)*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let lab = super::TestLab::start(super::Kind::Sqlite).await.expect("sqlite lab");
                    super::$check(&lab).await;
                    lab.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(lab) = super::TestLab::start(super::Kind::Postgres).await else { return };
                    super::$check(&lab).await;
                    lab.stop().await;
                }
            )*
        }
    };
}

on_both! {
    health_and_metrics => check_health_and_metrics;
    catalogue_reads => check_catalogue;
    n_plus_one_counts_every_query => check_n_plus_one;
    slow_query_takes_about_the_asked_time => check_slow_query;
    full_scan_scans_the_largest_table => check_full_scan;
    complex_join_and_cartesian => check_complex_join;
    error_kinds => check_errors;
    database_error_names_the_class => check_database_error;
    distributed_operations => check_distributed;
    bad_input_is_named => check_bad_input;
}

async fn check_health_and_metrics(lab: &TestLab) {
    let (status, body) = lab.get("/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    let response = lab
        .client
        .get(lab.distributed("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(response.status().as_u16(), 200);

    lab.get("/performance/n-plus-one?limit=2").await;
    let text = lab
        .client
        .get(lab.ec("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains(r#"targets_http_requests_total{service="ec",route="/performance/n-plus-one",method="GET",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"targets_db_queries_total{service="ec",route="/performance/n-plus-one"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "targets_http_request_duration_seconds_bucket{service=\"ec\",route=\"/health\""
        ),
        "{text}"
    );

    let page = lab.client.get(lab.ec("/")).send().await.expect("demo page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    for path in [
        "/performance/n-plus-one",
        "/distributed/n-plus-one",
        "/distributed/slow-query",
        "/performance/error?kind=panic",
    ] {
        assert!(html.contains(path), "demo page lacks {path}");
    }
}

async fn check_catalogue(lab: &TestLab) {
    let (status, body) = lab
        .get("/api/products?page=2&per_page=5&category=Books")
        .await;
    assert_eq!(status, 200, "{body}");
    let products = body["products"].as_array().expect("products");
    assert_eq!(products.len(), 5);
    assert!(products.iter().all(|p| p["category"] == "Books"));

    let (status, body) = lab.get("/api/products/7").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["product"]["id"], 7);
    assert!(body["product"]["description"].as_str().is_some());

    let (status, body) = lab.get("/api/orders/3").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["order"]["id"], 3);
    assert!(!body["items"].as_array().expect("items").is_empty());

    let (status, body) = lab.get("/api/orders/99999999").await;
    assert_eq!(status, 404, "{body}");
    assert_error_shape(&body, "not_found");
}

async fn check_n_plus_one(lab: &TestLab) {
    for limit in [1, 5, 20] {
        let (status, body) = lab
            .get(&format!("/performance/n-plus-one?limit={limit}"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(assert_perf_shape(&body, "success"), limit + 1, "{body}");
        assert_eq!(
            body["data"]["results"].as_array().map(Vec::len),
            Some(limit as usize)
        );
        assert_eq!(body["user_id"], 42);
    }
    let (status, body) = lab.get("/performance/n-plus-one").await;
    assert_eq!(status, 200);
    assert_eq!(
        assert_perf_shape(&body, "success"),
        21,
        "default limit is 20"
    );
}

async fn check_slow_query(lab: &TestLab) {
    let (status, body) = lab.get("/performance/slow-query?seconds=1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(assert_perf_shape(&body, "success"), 1);
    let query_seconds = body["data"]["results"]["query_seconds"]
        .as_f64()
        .expect("query_seconds");
    assert!(
        query_seconds >= 0.5,
        "the query itself must take about 1 s: {body}"
    );
    let expected = match lab.lab.db().backend() {
        Backend::Sqlite => "recursive_cte",
        Backend::Postgres => "pg_sleep",
    };
    assert_eq!(body["data"]["results"]["method"], expected);
}

async fn check_full_scan(lab: &TestLab) {
    let (status, body) = lab.get("/performance/slow-query/full-scan").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(assert_perf_shape(&body, "success"), 1);
    assert!(
        body["matched_rows"].as_i64().is_some_and(|n| n > 0),
        "{body}"
    );

    let plan = lab
        .lab
        .db()
        .explain(&targets::ec::FULL_SCAN, &[Param::Float(500.0)])
        .await
        .expect("explain")
        .join("\n");
    match lab.lab.db().backend() {
        Backend::Sqlite => assert!(plan.contains("SCAN order_items"), "{plan}"),
        Backend::Postgres => assert!(plan.contains("Seq Scan on order_items"), "{plan}"),
    }
    let indexed = lab
        .lab
        .db()
        .explain(&targets::ec::ORDER_ITEMS, &[Param::Int(1)])
        .await
        .expect("explain")
        .join("\n");
    match lab.lab.db().backend() {
        Backend::Sqlite => assert!(indexed.contains("order_items_order_id_idx"), "{indexed}"),
        Backend::Postgres => assert!(indexed.contains("order_items_order_id_idx"), "{indexed}"),
    }
}

async fn check_complex_join(lab: &TestLab) {
    let (status, body) = lab.get("/performance/slow-query/complex-join").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(assert_perf_shape(&body, "success"), 1);
    let rows = body["data"]["results"].as_array().expect("rows");
    assert_eq!(rows.len(), 10, "one row per category: {body}");
    let revenues: Vec<f64> = rows.iter().filter_map(|r| r["revenue"].as_f64()).collect();
    assert!(
        revenues.windows(2).all(|w| w[0] >= w[1]),
        "ordered by revenue: {revenues:?}"
    );

    let plan = lab
        .lab
        .db()
        .explain(&targets::ec::COMPLEX_JOIN, &[])
        .await
        .expect("explain")
        .join("\n");
    if lab.lab.db().backend() == Backend::Sqlite {
        // One SCAN/SEARCH step per table (by alias), and a sort for the ORDER BY.
        for alias in ["oi", "o", "p", "u"] {
            let step = |kind: &str| format!("{kind} {alias} ");
            assert!(
                plan.lines()
                    .any(|l| l.starts_with(&step("SCAN")) || l.starts_with(&step("SEARCH"))),
                "plan lacks table {alias}: {plan}"
            );
        }
        assert!(plan.contains("TEMP B-TREE FOR ORDER BY"), "{plan}");
    } else {
        for table in ["order_items oi", "orders o", "products p", "users u"] {
            assert!(plan.contains(table), "plan lacks {table}: {plan}");
        }
        assert!(
            plan.contains("Hash Join")
                || plan.contains("Nested Loop")
                || plan.contains("Merge Join"),
            "{plan}"
        );
        assert!(plan.contains("Aggregate"), "{plan}");
    }

    let (status, body) = lab
        .get("/performance/slow-query/complex-join?variant=cartesian&size=300")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(assert_perf_shape(&body, "success"), 1);
    assert_eq!(
        body["data"]["results"][0]["pairs"],
        200 * 300,
        "users are capped at 200 by the seed: {body}"
    );
}

async fn check_errors(lab: &TestLab) {
    let (status, body) = lab.get("/performance/error?kind=500").await;
    assert_eq!(status, 500);
    assert_error_shape(&body, "internal_error");
    assert_eq!(assert_perf_shape(&body, "error"), 0);

    let (status, body) = lab.get("/performance/error?kind=panic").await;
    assert_eq!(status, 500);
    assert_error_shape(&body, "panic");

    let (status, body) = lab.get("/performance/error?kind=timeout&seconds=0.2").await;
    assert_eq!(status, 504);
    assert_error_shape(&body, "timeout");

    let (status, body) = lab.get("/performance/error?kind=random&seconds=0.1").await;
    assert!([500, 504].contains(&status), "{status} {body}");
    assert!(
        ["internal_error", "panic", "timeout"].contains(&body["code"].as_str().unwrap_or_default())
    );

    // The service survives a panic.
    let (status, _) = lab.get("/health").await;
    assert_eq!(status, 200);
}

async fn check_database_error(lab: &TestLab) {
    let (status, body) = lab.get("/performance/database-error").await;
    assert_eq!(status, 500, "{body}");
    assert_error_shape(&body, "database_error");
    assert_eq!(assert_perf_shape(&body, "error"), 1);
    let expected = match lab.lab.db().backend() {
        Backend::Sqlite => "SQLITE_ERROR",
        Backend::Postgres => "42P01",
    };
    assert_eq!(body["details"]["error_class"], expected, "{body}");
}

async fn check_distributed(lab: &TestLab) {
    let (status, body) = lab.get("/distributed/n-plus-one?limit=3").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(assert_perf_shape(&body, "success"), 4, "{body}");
    assert_eq!(body["user_id"], 42);
    assert_eq!(
        body["distributed"]["trace_id"], body["trace_id"],
        "one trace: {body}"
    );
    assert!(body["timings"]["total_seconds"].as_f64().is_some());
    assert!(
        body["timings"]["distributed_call_seconds"]
            .as_f64()
            .is_some()
    );

    let response = lab
        .client
        .post(lab.ec("/distributed/n-plus-one"))
        .json(&serde_json::json!({"user_id": 7, "parameters": {"limit": 2, "category": "Toys"}}))
        .send()
        .await
        .expect("post");
    let (status, body) = common::read(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(assert_perf_shape(&body, "success"), 3);
    assert_eq!(body["user_id"], 7);
    assert!(
        body["data"]["results"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["category"] == "Toys")
    );

    let (status, body) = lab.get("/distributed/slow-query?seconds=1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(assert_perf_shape(&body, "success"), 1);
    assert!(
        body["timings"]["distributed_call_seconds"]
            .as_f64()
            .is_some_and(|s| s >= 0.5),
        "{body}"
    );

    let (status, body) = lab.get("/distributed/database-error").await;
    assert_eq!(status, 500, "{body}");
    assert_error_shape(&body, "database_error");
    assert_eq!(assert_perf_shape(&body, "error"), 1);

    let (status, body) = lab.get("/distributed/nope").await;
    assert_eq!(status, 404, "{body}");
    assert_error_shape(&body, "unknown_operation");

    // Direct calls to the distributed service.
    let (status, body) = lab
        .post_distributed(
            "/n-plus-one",
            r#"{"user_id": 123, "operation": "n_plus_one", "parameters": {"limit": 4}}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(assert_perf_shape(&body, "success"), 5);
    assert_eq!(body["user_id"], 123);
}

async fn check_bad_input(lab: &TestLab) {
    let (status, body) = lab.get("/performance/n-plus-one?limit=-3").await;
    assert_eq!(status, 422, "{body}");
    assert_error_shape(&body, "validation");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("limit"),
        "{body}"
    );

    let (status, body) = lab.get("/performance/n-plus-one?limit=abc").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("limit"),
        "{body}"
    );

    let (status, body) = lab.get("/performance/error?kind=bogus").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("bogus"),
        "{body}"
    );

    for seconds in ["-1", "31", "NaN"] {
        let (status, body) = lab
            .get(&format!("/performance/slow-query?seconds={seconds}"))
            .await;
        assert_eq!(status, 422, "seconds={seconds}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("seconds"),
            "{body}"
        );
    }

    let (status, body) = lab.get("/api/products?per_page=0&page=-1").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["details"]["problems"].as_array().map(Vec::len),
        Some(2),
        "every problem: {body}"
    );

    let (status, body) = lab
        .post_distributed(
            "/n-plus-one",
            r#"{"user_id": 1, "parameters": {"limit": -3}}"#,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["message"], "parameters.limit: must be between 1 and 1000, got -3",
        "{body}"
    );

    let (status, body) = lab
        .post_distributed("/slow-query", r#"{"parameters": {"seconds": "soon"}}"#)
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("parameters.seconds"),
        "{body}"
    );

    let (status, body) = lab
        .post_distributed("/n-plus-one", r#"{"user_id": 1, "#)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_error_shape(&body, "malformed_json");

    let (status, body) = lab
        .post_distributed("/n-plus-one", r#"{"parameters": {"limt": 3}}"#)
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("limt"),
        "{body}"
    );

    let response = lab
        .client
        .post(lab.ec("/distributed/n-plus-one"))
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .expect("post");
    let (status, body) = common::read(response).await;
    assert_eq!(status, 400, "{body}");
    assert_error_shape(&body, "malformed_json");
}
