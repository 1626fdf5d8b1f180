//! The performance-endpoint answer of the seeds:
//! `{status, data: {results, execution_time, query_count}, user_id, trace_id}`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::context::{RequestContext, UserId, user_json};

/// A successful performance answer; `execution_time` (seconds) and `query_count` are read from
/// the request context when the response is built.
#[derive(Debug)]
pub struct PerfResponse {
    /// The rows or summary produced.
    pub results: Value,
    /// The caller.
    pub user_id: Option<UserId>,
    /// Extra top-level fields (e.g. the operation's parameters).
    pub extra: serde_json::Map<String, Value>,
    ctx: RequestContext,
}

impl PerfResponse {
    /// Wraps `results` for the request of `ctx`.
    pub fn new(ctx: &RequestContext, user_id: Option<UserId>, results: Value) -> Self {
        Self {
            results,
            user_id,
            extra: serde_json::Map::new(),
            ctx: ctx.clone(),
        }
    }

    /// Adds a top-level field.
    pub fn with_field(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let query_count = self.ctx.queries.get();
        tracing::Span::current().record("query_count", query_count);
        let mut body = json!({
            "status": "success",
            "data": {
                "results": self.results,
                "execution_time": self.ctx.started.elapsed().as_secs_f64(),
                "query_count": query_count,
            },
            "user_id": user_json(self.user_id.as_ref()),
            "trace_id": self.ctx.trace_id,
        });
        if let Value::Object(map) = &mut body {
            map.extend(self.extra.clone());
        }
        body
    }
}

impl IntoResponse for PerfResponse {
    fn into_response(self) -> Response {
        Json(self.body()).into_response()
    }
}
