//! The OpenAPI 3.1 document of the API, served at `GET /api/openapi.json`. Mutating operations
//! carry the bearer security requirement; tests enumerate them from here.

use axum::Json;
use serde_json::{Value, json};

pub async fn serve() -> Json<Value> {
    Json(document())
}

/// One operation. `mutating` ones need the token.
fn op(summary: &str, mutating: bool, body: Option<Value>, ok: &str) -> Value {
    let mut o = json!({
        "summary": summary,
        "responses": {
            ok: { "description": "Success" },
            "default": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
        }
    });
    if mutating {
        o["security"] = json!([{ "bearer": [] }]);
    }
    if let Some(schema) = body {
        o["requestBody"] = json!({ "required": true, "content": schema });
    }
    o
}

fn json_body(schema: Value) -> Option<Value> {
    Some(json!({ "application/json": { "schema": schema } }))
}

fn id_param() -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }])
}

fn with_id(mut o: Value) -> Value {
    o["parameters"] = id_param();
    o
}

/// The whole document.
pub fn document() -> Value {
    let overrides = json!({
        "type": "object", "additionalProperties": false,
        "properties": {
            "target": { "type": "string" }, "users": { "type": "integer", "minimum": 1 },
            "duration": { "type": "string", "examples": ["30s"] },
            "think_time": { "$ref": "#/components/schemas/ThinkTime" },
            "arrival_rate": { "type": "number" },
            "weights": { "type": "object", "additionalProperties": { "type": "number" } }
        }
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "load-tester control API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Start, watch, steer and stop load-test sessions. Errors share one shape: {code, message, details}. Reads are open on loopback by default; mutating calls need `Authorization: Bearer <token>`."
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": {
                    "type": "object", "required": ["code", "message", "details"],
                    "properties": { "code": { "type": "string" }, "message": { "type": "string" }, "details": {} }
                },
                "ThinkTime": {
                    "type": "object", "required": ["min", "max"],
                    "properties": { "min": { "type": "string" }, "max": { "type": "string" } }
                }
            }
        },
        "paths": {
            "/api/health": { "get": op("Liveness and version", false, None, "200") },
            "/api/openapi.json": { "get": op("This document", false, None, "200") },
            "/api/settings": {
                "get": op("Settings in force (token never shown) and which can change", false, None, "200"),
                "patch": op("Change caps, timeouts, rate limit or retention until the server stops", true, json_body(json!({
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "max_users_per_session": { "type": "integer", "minimum": 1 },
                        "max_sessions": { "type": "integer", "minimum": 1 },
                        "max_arrival_rate": { "type": "number", "exclusiveMinimum": 0 },
                        "retention": { "type": "string" },
                        "stop_timeout": { "type": "string" },
                        "rate_limit": { "type": "integer", "minimum": 0 }
                    }
                })), "200")
            },
            "/api/token": { "get": op("Check a bearer token: 200 with the caller's name, or 401", true, None, "200") },
            "/api/scenarios": { "get": op("Scenario files in the scenarios folder", false, None, "200") },
            "/api/scenarios/validate": { "post": op(
                "Validate scenario YAML (changes nothing, so a read); 422 with positioned diagnostics", false,
                Some(json!({ "text/yaml": { "schema": { "type": "string" } } })), "200") },
            "/api/sessions": {
                "get": {
                    "summary": "Sessions, newest first",
                    "parameters": [
                        { "name": "status", "in": "query", "schema": { "type": "string" }, "description": "comma-separated statuses" },
                        { "name": "scenario", "in": "query", "schema": { "type": "string" } },
                        { "name": "limit", "in": "query", "schema": { "type": "integer" } }
                    ],
                    "responses": { "200": { "description": "Success" } }
                },
                "post": op("Start a session", true, json_body(json!({
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "scenario": { "type": "string" }, "scenario_yaml": { "type": "string" },
                        "overrides": overrides
                    }
                })), "201")
            },
            "/api/sessions/{id}": {
                "get": with_id(op("A session: configuration, status, live summary", false, None, "200")),
                "patch": with_id(op("Change a running session live", true, json_body(json!({
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "users": { "type": "integer", "minimum": 1 },
                        "weights": { "type": "object", "additionalProperties": { "type": "number" } },
                        "think_time": { "$ref": "#/components/schemas/ThinkTime" },
                        "arrival_rate": { "type": ["number", "null"] }
                    }
                })), "200"))
            },
            "/api/sessions/{id}/stop": { "post": with_id(op("Stop gracefully", true, None, "202")) },
            "/api/sessions/{id}/stats": { "get": with_id(op("Per-second stats", false, None, "200")) },
            "/api/sessions/{id}/errors": { "get": with_id(op("Grouped errors with sample trace ids", false, None, "200")) },
            "/api/sessions/{id}/report": { "get": with_id(op("Goose's HTML report", false, None, "200")) },
            "/api/sessions/{id}/report.json": { "get": with_id(op("JSON summary", false, None, "200")) },
            "/api/sessions/{id}/junit.xml": { "get": with_id(op("JUnit XML, one case per threshold", false, None, "200")) },
            "/api/sessions/{id}/events": { "get": with_id(op("SSE: tick, lifecycle, change, error of one session", false, None, "200")) },
            "/api/events": { "get": op("SSE: events of every session", false, None, "200") },
            "/api/emergency-stop": { "post": op("Kill every session now; answers once all workers are gone", true, None, "200") },
            "/api/compare": { "get": {
                "summary": "Two sessions side by side",
                "parameters": [
                    { "name": "a", "in": "query", "required": true, "schema": { "type": "string" } },
                    { "name": "b", "in": "query", "required": true, "schema": { "type": "string" } }
                ],
                "responses": { "200": { "description": "Success" } }
            } },
            "/api/config/history": { "get": op("Every live change: who, when, old, new", false, None, "200") },
            "/api/audit": { "get": op("Management calls: who, what, result, client", false, None, "200") },
            "/metrics": { "get": op("Prometheus text", false, None, "200") }
        }
    })
}
