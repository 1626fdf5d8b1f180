//! `GET /openapi.json` (OpenAPI 3.1 document of the routes) and `GET /docs` (an HTML page
//! listing the same operations, generated from the document, with no external assets).

use std::fmt::Write as _;
use std::sync::OnceLock;

use axum::Json;
use axum::response::Html;
use serde_json::{Value, json};

use super::model::{DEFAULT_LIMIT, DESCRIPTION_MAX, MAX_LIMIT, MAX_SKIP, TITLE_MAX};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    })
}

fn todo_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Todo"}}},
    })
}

fn body(schema: &str) -> Value {
    json!({
        "required": true,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}},
    })
}

/// The OpenAPI document.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(build)
}

fn build() -> Value {
    let id = json!({
        "name": "id", "in": "path", "required": true,
        "description": "The todo's UUID.",
        "schema": {"type": "string", "format": "uuid"},
    });
    let user = json!({
        "name": "X-User-Id", "in": "header", "required": false,
        "description": "Caller's user id, recorded as `user_id` on the request span.",
        "schema": {"type": "string"},
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Todo API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "CRUD over todos on SQLite or PostgreSQL, traced, measured and logged with OpenTelemetry. Errors share one JSON shape: {status, code, message, details, trace_id}.",
        },
        "paths": {
            "/api/v1/todos": {
                "get": {
                    "operationId": "listTodos",
                    "summary": "List todos, newest first, with the total matching the filter",
                    "parameters": [
                        {"name": "skip", "in": "query", "description": "Todos to skip.", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SKIP, "default": 0}},
                        {"name": "limit", "in": "query", "description": "Todos per page.", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
                        {"name": "completed", "in": "query", "description": "Only completed (true) or open (false) todos.", "schema": {"type": "boolean"}},
                        user,
                    ],
                    "responses": {
                        "200": {"description": "A page of todos.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TodoPage"}}}},
                        "422": error_response("A query parameter is out of range or not a boolean."),
                        "503": error_response("The database is unavailable."),
                    },
                },
                "post": {
                    "operationId": "createTodo",
                    "summary": "Create a todo",
                    "parameters": [user],
                    "requestBody": body("TodoCreate"),
                    "responses": {
                        "201": todo_response("Created; `Location` names it."),
                        "400": error_response("The body is not valid JSON."),
                        "415": error_response("The body is not sent as application/json."),
                        "422": error_response("A field is missing, of the wrong type, too long, empty or unknown."),
                        "503": error_response("The database is unavailable."),
                    },
                },
            },
            "/api/v1/todos/{id}": {
                "get": {
                    "operationId": "getTodo",
                    "summary": "Get one todo",
                    "parameters": [id, user],
                    "responses": {
                        "200": todo_response("The todo."),
                        "404": error_response("No todo has this id."),
                        "422": error_response("The id is not a UUID."),
                    },
                },
                "put": {
                    "operationId": "replaceTodo",
                    "summary": "Replace a todo (title required; description and completed reset to null/false when left out)",
                    "parameters": [id, user],
                    "requestBody": body("TodoCreate"),
                    "responses": {
                        "200": todo_response("The replaced todo."),
                        "404": error_response("No todo has this id."),
                        "422": error_response("A field or the id is invalid."),
                    },
                },
                "patch": {
                    "operationId": "updateTodo",
                    "summary": "Change some fields of a todo",
                    "parameters": [id, user],
                    "requestBody": body("TodoPatch"),
                    "responses": {
                        "200": todo_response("The changed todo."),
                        "404": error_response("No todo has this id."),
                        "422": error_response("A field or the id is invalid, or no field is set."),
                    },
                },
                "delete": {
                    "operationId": "deleteTodo",
                    "summary": "Delete a todo",
                    "parameters": [id, user],
                    "responses": {
                        "204": {"description": "Deleted."},
                        "404": error_response("No todo has this id."),
                        "422": error_response("The id is not a UUID."),
                    },
                },
            },
            "/health": {"get": {
                "operationId": "health",
                "summary": "Whether the database can take a write (503 naming it when not)",
                "responses": {"200": {"description": "Healthy."}, "503": error_response("The database is unavailable.")},
            }},
            "/metrics": {"get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics: requests, latency, in-flight requests, database pool, todo totals",
                "responses": {"200": {"description": "Prometheus text format 0.0.4.", "content": {"text/plain": {}}}},
            }},
            "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1."}}}},
            "/docs": {"get": {"operationId": "docs", "summary": "A page listing these operations", "responses": {"200": {"description": "HTML.", "content": {"text/html": {}}}}}},
        },
        "components": {"schemas": {
            "Todo": {
                "type": "object",
                "required": ["id", "title", "description", "completed", "created_at", "updated_at"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX},
                    "description": {"type": ["string", "null"], "maxLength": DESCRIPTION_MAX},
                    "completed": {"type": "boolean"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                },
            },
            "TodoCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": ["title"],
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX, "description": "Not only spaces."},
                    "description": {"type": ["string", "null"], "maxLength": DESCRIPTION_MAX},
                    "completed": {"type": "boolean", "default": false},
                },
            },
            "TodoPatch": {
                "type": "object",
                "additionalProperties": false,
                "minProperties": 1,
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX},
                    "description": {"type": ["string", "null"], "maxLength": DESCRIPTION_MAX},
                    "completed": {"type": "boolean"},
                },
            },
            "TodoPage": {
                "type": "object",
                "required": ["items", "total", "skip", "limit"],
                "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Todo"}},
                    "total": {"type": "integer", "description": "Todos matching the filter."},
                    "skip": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "completed": {"type": ["boolean", "null"]},
                },
            },
            "Error": {
                "type": "object",
                "required": ["status", "code", "message", "details"],
                "properties": {
                    "status": {"const": "error"},
                    "code": {"type": "string", "examples": ["validation", "not_found", "malformed_json", "unsupported_media_type", "database_unavailable"]},
                    "message": {"type": "string"},
                    "details": {"type": "object", "description": "For `validation`: `problems`, a list of {field, value, message}."},
                    "trace_id": {"type": "string"},
                },
            },
        }},
    })
}

/// `GET /openapi.json`.
pub async fn document() -> Json<Value> {
    Json(spec().clone())
}

/// `GET /docs`.
pub async fn page() -> Html<String> {
    Html(render_page(spec()))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML page of `spec`: one section per operation with its parameters, body schema and
/// answers.
pub fn render_page(spec: &Value) -> String {
    let title = spec["info"]["title"].as_str().unwrap_or("API");
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}\
         section{{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}}\
         .m{{display:inline-block;min-width:4.5rem;font-weight:bold}}code{{background:#f4f4f4;padding:0 .2rem}}\
         td{{padding:.1rem .6rem;vertical-align:top}}</style></head><body><h1>{t} {v}</h1><p>{d}</p>\
         <p>The machine-readable document is at <a href=\"/openapi.json\"><code>/openapi.json</code></a>.</p>",
        t = escape(title),
        v = escape(spec["info"]["version"].as_str().unwrap_or("")),
        d = escape(spec["info"]["description"].as_str().unwrap_or("")),
    );
    let Some(paths) = spec["paths"].as_object() else {
        return html;
    };
    for (path, item) in paths {
        let Some(operations) = item.as_object() else {
            continue;
        };
        for (method, op) in operations {
            let _ = write!(
                html,
                "<section id=\"{id}\"><h2><span class=\"m\">{m}</span><code>{p}</code></h2><p>{s}</p>",
                id = escape(op["operationId"].as_str().unwrap_or("")),
                m = method.to_uppercase(),
                p = escape(path),
                s = escape(op["summary"].as_str().unwrap_or("")),
            );
            if let Some(params) = op["parameters"].as_array() {
                html.push_str("<h3>Parameters</h3><table>");
                for param in params {
                    let _ = write!(
                        html,
                        "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                        escape(param["name"].as_str().unwrap_or("")),
                        escape(param["in"].as_str().unwrap_or("")),
                        escape(&param["schema"].to_string()),
                        escape(param["description"].as_str().unwrap_or("")),
                    );
                }
                html.push_str("</table>");
            }
            if let Some(schema) =
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
            {
                let name = schema.rsplit('/').next().unwrap_or(schema);
                let body = &spec["components"]["schemas"][name];
                let _ = write!(
                    html,
                    "<h3>Body (<code>application/json</code>, {})</h3><pre>{}</pre>",
                    escape(name),
                    escape(&serde_json::to_string_pretty(body).unwrap_or_default()),
                );
            }
            if let Some(responses) = op["responses"].as_object() {
                html.push_str("<h3>Responses</h3><table>");
                for (status, response) in responses {
                    let _ = write!(
                        html,
                        "<tr><td><code>{}</code></td><td>{}</td></tr>",
                        escape(status),
                        escape(response["description"].as_str().unwrap_or("")),
                    );
                }
                html.push_str("</table>");
            }
            html.push_str("</section>");
        }
    }
    html.push_str("</body></html>");
    html
}
