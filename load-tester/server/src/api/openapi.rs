//! The OpenAPI 3.1 document of the API, served at `GET /api/openapi.json`: generated from the
//! handlers' `#[utoipa::path]` annotations and the body types (`model.rs`) by the same router that
//! serves them ([`super::documented_routes`]), then completed with what the layers answer on
//! every route (token, `Host`, rate limit, body limit), so every status a route can answer is
//! listed with the error schema.

use std::sync::OnceLock;

use axum::Json;
use serde_json::{Value, json};

/// The generated document.
#[utoipa::path(get, path = "/api/openapi.json", operation_id = "openapi", tag = "server",
    responses((status = 200, description = "This document", body = Object)))]
pub async fn serve() -> Json<Value> {
    Json(document().clone())
}

/// The whole document, generated once.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let generated = super::documented_routes().into_openapi();
        let generated =
            generated.merge_from(<super::model::ExtraSchemas as utoipa::OpenApi>::openapi());
        let mut doc = serde_json::to_value(&generated).unwrap_or(Value::Null);
        complete(&mut doc);
        doc
    })
}

/// What the layers in front of every handler answer: (status, shared response's name, when).
const EVERY_ROUTE: [(&str, &str, &str); 4] = [
    (
        "401",
        "Unauthorized",
        "The call needs the bearer token (mutating calls; reads off loopback or with `read_access: token`), or the token given is wrong (`unauthorized`)",
    ),
    (
        "421",
        "MisdirectedRequest",
        "The `Host` header names a host this server does not answer to (`host_not_allowed`; setting `allowed_hosts`)",
    ),
    (
        "429",
        "RateLimited",
        "Over the per-client rate limit (`rate_limited`; `Retry-After` says when to retry)",
    ),
    (
        "500",
        "Internal",
        "Something broke on the server's side (`internal`); its log has the cause",
    ),
];
const WITH_PARAMETERS: (&str, &str, &str) = (
    "400",
    "InvalidParameter",
    "A query, path or header parameter cannot be read (`invalid_query`, `invalid_path`), naming it and the value",
);
const WITH_BODY: [(&str, &str, &str); 2] = [
    (
        "400",
        "InvalidBody",
        "The body is not valid JSON or not UTF-8 (`invalid_json`, `invalid_body`), with where it breaks",
    ),
    (
        "413",
        "BodyTooLarge",
        "The body is over 1 MiB (`body_too_large`)",
    ),
];

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
    })
}

/// Adds the title, the security scheme and the layers' answers to a generated document.
fn complete(doc: &mut Value) {
    doc["info"] = json!({
        "title": "load-tester control API",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Start, watch, steer and stop load-test sessions. Every error answers `{code, message, details}` (schema `ErrorBody`). Reads are open on loopback by default; mutating calls need `Authorization: Bearer <token>`. Request bodies are limited to 1 MiB.",
    });
    doc["components"]["securitySchemes"] =
        json!({ "bearer": { "type": "http", "scheme": "bearer" } });
    // `Settings` refuses unknown keys when it is read from a file, which its schema says; the
    // answer of `GET /api/settings` flattens it with `changeable`, which that would forbid.
    if let Some(settings) = doc["components"]["schemas"]["Settings"].as_object_mut() {
        settings.remove("additionalProperties");
    }
    for (_, name, when) in EVERY_ROUTE
        .iter()
        .chain([&WITH_PARAMETERS])
        .chain(&WITH_BODY)
    {
        doc["components"]["responses"][*name] = error_response(when);
    }
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let mut add: Vec<(&str, &str, &str)> = EVERY_ROUTE.to_vec();
            if op
                .get("parameters")
                .is_some_and(|p| p.as_array().is_some_and(|p| !p.is_empty()))
            {
                add.push(WITH_PARAMETERS);
            }
            if op.get("requestBody").is_some() {
                add.extend(WITH_BODY);
            }
            let responses = &mut op["responses"];
            for (status, name, _) in add {
                if responses.get(status).is_none() {
                    responses[status] = json!({ "$ref": format!("#/components/responses/{name}") });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::document;

    #[test]
    fn the_settings_change_schema_lists_exactly_the_settings_that_change_live() {
        let mut documented: Vec<&str> =
            document()["components"]["schemas"]["SettingsChange"]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
        let mut changeable = crate::live_settings::CHANGEABLE.to_vec();
        documented.sort_unstable();
        changeable.sort_unstable();
        assert_eq!(documented, changeable);
    }
}
