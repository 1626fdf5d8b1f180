//! The API contract: the OpenAPI document a real server serves is the one generated from the
//! code (and committed as `docs/openapi.json`), covers every route the server answers and no
//! other, and lists every status each route answered here, with the error schema.

mod common;
mod control;

use std::collections::BTreeSet;
use std::path::Path;

use control::{Server, TOKEN};
use serde_json::Value;

/// Methods a route may have.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_the_routers_and_lists_what_each_route_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let doc = server.get("/api/openapi.json").await;

    // The committed copy (what the panel's types are generated from) is the served one.
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        committed == doc,
        "docs/openapi.json is not the served document: run `load-tester openapi > docs/openapi.json` and `npm run types` in ui/"
    );

    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{:?}", paths.keys());
    let mut operation_ids = BTreeSet::new();
    for (path, item) in paths {
        let url = format!("{}{}", server.url, path.replace("{id}", "0000"));
        for method in METHODS {
            let op = &item[method];
            let response = server
                .client
                .request(method.to_uppercase().parse().unwrap(), &url)
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(if path.ends_with("/validate") {
                    "name: x"
                } else {
                    "{}"
                })
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let is_json = response
                .headers()
                .get("content-type")
                .is_some_and(|v| v.to_str().unwrap().starts_with("application/json"));
            // Streams never end: only JSON answers are read.
            let body: Value = if is_json {
                response.json().await.unwrap()
            } else {
                Value::Null
            };
            if op.is_null() {
                // A method the document does not list is one the router does not have.
                assert_eq!(status, 405, "{method} {path}: {body}");
                assert_eq!(body["code"], "method_not_allowed", "{method} {path}");
                continue;
            }
            assert!(
                operation_ids.insert(op["operationId"].as_str().unwrap().to_string()),
                "operationId of {method} {path} is not unique"
            );
            // The route exists (no fallback answer) and its answer is documented.
            assert_ne!(status, 405, "{method} {path}");
            assert!(
                !(status == 404
                    && body["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("no route"))),
                "{method} {path} is documented but not routed"
            );
            let listed = &op["responses"][status.to_string()];
            assert!(
                !listed.is_null(),
                "{method} {path} answered {status}, which its operation does not list: {body}"
            );
            if status >= 400 {
                for field in ["code", "message", "details"] {
                    assert!(body.get(field).is_some(), "{method} {path}: {body}");
                }
            }
            // Statuses every route can answer are listed on every operation.
            for always in ["401", "421", "429", "500"] {
                assert!(
                    !op["responses"][always].is_null(),
                    "{method} {path} lacks {always}"
                );
            }
            if op["requestBody"].is_object() {
                for status in ["400", "413", "422"] {
                    assert!(
                        !op["responses"][status].is_null(),
                        "{method} {path} has a body but lacks {status}"
                    );
                }
            }
        }
    }

    // A path the document does not have is not routed.
    let (status, body) = server.call("GET", "/api/nothing-here", None).await;
    assert_eq!(status, 404);
    assert!(
        body["message"].as_str().unwrap().starts_with("no route"),
        "{body}"
    );

    // Every reference resolves.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/").skip(1) {
        let pointer = format!("/{}", &part[..part.find('"').unwrap()]);
        assert!(
            doc.pointer(&pointer).is_some(),
            "{pointer} is referenced but not defined"
        );
    }
}
