//! The CRUD handlers: check the input (422 naming every bad field and value, 415/400 for a
//! body that is not JSON), run the business step, answer JSON.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, Uri, header};
use serde_json::{Value, json};

use super::model::{self, Mode};
use super::{BASE, TodoState, database_error, store};
use crate::http::api_error::{ApiError, FieldProblem};
use crate::http::context::RequestContext;

fn operation(name: &str) {
    tracing::Span::current().record("operation_type", name);
}

fn invalid(problems: Vec<FieldProblem>, ctx: &RequestContext) -> ApiError {
    ApiError::invalid_fields(problems).with_field("trace_id", ctx.trace_id.clone().into())
}

fn not_found(id: &str, ctx: &RequestContext) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("todo {id} does not exist"),
    )
    .with_details(json!({"resource": "todo", "id": id}))
    .with_field("trace_id", ctx.trace_id.clone().into())
}

fn path_id(raw: &str, ctx: &RequestContext) -> Result<String, ApiError> {
    model::parse_id(raw).map_err(|problem| invalid(vec![problem], ctx))
}

/// The request body as JSON: 415 unless `Content-Type` is JSON, 400 when it is not valid JSON.
fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    ctx: &RequestContext,
) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("the body must be JSON sent with Content-Type: application/json, got {content_type:?}"),
        )
        .with_details(json!({"content_type": content_type}))
        .with_field("trace_id", ctx.trace_id.clone().into()));
    }
    let bytes = body.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            "bad_body",
            format!("cannot read the request body: {}", rejection.body_text()),
        )
        .with_field("trace_id", ctx.trace_id.clone().into())
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let message = if bytes.iter().all(u8::is_ascii_whitespace) {
            "the request body is empty; send a JSON object".to_owned()
        } else {
            format!("request body is not valid JSON: {e}")
        };
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", message)
            .with_details(json!({"line": e.line(), "column": e.column()}))
            .with_field("trace_id", ctx.trace_id.clone().into())
    })
}

/// `GET /api/v1/todos?skip=&limit=&completed=`: newest first, with the matching total.
pub(super) async fn list(
    State(state): State<TodoState>,
    ctx: RequestContext,
    uri: Uri,
) -> Result<Response, ApiError> {
    operation("todo.list");
    let pairs = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|Query(pairs)| pairs)
        .map_err(|e| {
            invalid(
                vec![FieldProblem::new(
                    "query",
                    &Value::from(uri.query().unwrap_or_default()),
                    e.body_text(),
                )],
                &ctx,
            )
        })?;
    let query = model::parse_list_query(&pairs).map_err(|p| invalid(p, &ctx))?;
    let page = store::list(&state.db, &ctx.queries, query)
        .await
        .map_err(|e| database_error(&e, &ctx))?;
    Ok(Json(json!({
        "items": page.items.iter().map(model::Todo::to_json).collect::<Vec<_>>(),
        "total": page.total,
        "skip": query.skip,
        "limit": query.limit,
        "completed": query.completed,
    }))
    .into_response())
}

/// `GET /api/v1/todos/{id}`.
pub(super) async fn get(
    State(state): State<TodoState>,
    ctx: RequestContext,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    operation("todo.get");
    let id = path_id(&raw, &ctx)?;
    match store::get(&state.db, &ctx.queries, &id).await {
        Ok(Some(todo)) => Ok(Json(todo.to_json()).into_response()),
        Ok(None) => Err(not_found(&id, &ctx)),
        Err(e) => Err(database_error(&e, &ctx)),
    }
}

/// `POST /api/v1/todos`: 201 with the todo and its `Location`.
pub(super) async fn create(
    State(state): State<TodoState>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    operation("todo.create");
    let body = json_body(&headers, body, &ctx)?;
    let changes = model::parse_changes(&body, Mode::Create).map_err(|p| invalid(p, &ctx))?;
    let todo = store::create(&state.db, &ctx.queries, changes)
        .await
        .map_err(|e| database_error(&e, &ctx))?;
    tracing::info!(todo.id = todo.id.as_str(), "todo created");
    let location = format!("{BASE}/{}", todo.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(todo.to_json()),
    )
        .into_response())
}

async fn change(
    state: TodoState,
    ctx: RequestContext,
    raw: String,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    mode: Mode,
) -> Result<Response, ApiError> {
    operation("todo.update");
    let id = model::parse_id(&raw);
    let body = json_body(&headers, body, &ctx)?;
    let changes = model::parse_changes(&body, mode);
    // Report a bad id and bad fields together.
    let (id, changes) = match (id, changes) {
        (Ok(id), Ok(changes)) => (id, changes),
        (id, changes) => {
            let mut problems: Vec<FieldProblem> = id.err().into_iter().collect();
            problems.extend(changes.err().unwrap_or_default());
            return Err(invalid(problems, &ctx));
        }
    };
    match store::update(&state.db, &ctx.queries, &id, changes).await {
        Ok(Some(todo)) => {
            tracing::info!(todo.id = todo.id.as_str(), "todo updated");
            Ok(Json(todo.to_json()).into_response())
        }
        Ok(None) => Err(not_found(&id, &ctx)),
        Err(e) => Err(database_error(&e, &ctx)),
    }
}

/// `PUT /api/v1/todos/{id}`: a full replacement (`title` required; `description` and
/// `completed` back to null/false when left out).
pub(super) async fn replace(
    State(state): State<TodoState>,
    ctx: RequestContext,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    change(state, ctx, raw, headers, body, Mode::Replace).await
}

/// `PATCH /api/v1/todos/{id}`: changes only the fields sent.
pub(super) async fn update(
    State(state): State<TodoState>,
    ctx: RequestContext,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    change(state, ctx, raw, headers, body, Mode::Patch).await
}

/// `DELETE /api/v1/todos/{id}`: 204.
pub(super) async fn delete(
    State(state): State<TodoState>,
    ctx: RequestContext,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    operation("todo.delete");
    let id = path_id(&raw, &ctx)?;
    match store::delete(&state.db, &ctx.queries, &id).await {
        Ok(true) => {
            tracing::info!(todo.id = id.as_str(), "todo deleted");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Ok(false) => Err(not_found(&id, &ctx)),
        Err(e) => Err(database_error(&e, &ctx)),
    }
}
