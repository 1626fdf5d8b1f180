//! Server-Sent Events: one stream per session and one for all. Every event has an id; a client
//! that reconnects with `Last-Event-ID` gets what it missed while the data still exists.
//! Heartbeats keep proxies from closing idle streams; a client that falls behind is dropped
//! (it reconnects and resumes) rather than slowing anyone down.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;

use super::AppState;
use super::extract::ApiPath;
use super::model::ErrorBody;
use super::sessions::load;
use crate::error::{ApiError, ApiResult};
use crate::hub::{ClientGuard, Subscription};

const HEARTBEAT: Duration = Duration::from_secs(10);
/// What EventSource waits before reconnecting.
const RETRY: Duration = Duration::from_secs(2);

/// Server-Sent Events of one session: `tick`, `lifecycle`, `change`, `error`.
#[utoipa::path(get, path = "/api/sessions/{id}/events", operation_id = "session_events", tag = "events",
    params(
        ("id" = String, Path, description = "The session's id"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event"),
    ),
    responses(
        (status = 200, description = "An endless event stream; each event's data is JSON", content_type = "text/event-stream", body = String),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 422, description = "`Last-Event-ID` is not a number", body = ErrorBody),
    ))]
pub async fn session(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    load(&app, &id).await?;
    stream(app, Some(id), headers).await
}

/// Server-Sent Events of every session.
#[utoipa::path(get, path = "/api/events", operation_id = "all_events", tag = "events",
    params(("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event")),
    responses(
        (status = 200, description = "An endless event stream; each event's data is JSON with its `session_id`", content_type = "text/event-stream", body = String),
        (status = 422, description = "`Last-Event-ID` is not a number", body = ErrorBody),
    ))]
pub async fn all(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    stream(app, None, headers).await
}

async fn stream(
    app: AppState,
    session: Option<String>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let last_id = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "invalid_request",
                        format!(
                            "Last-Event-ID: `{}` is not an event id (a number)",
                            String::from_utf8_lossy(v.as_bytes())
                        ),
                    )
                })?,
        ),
    };
    let hub = Arc::clone(&app.hub);
    let guard = hub.client_guard();
    let subscription =
        tokio::task::spawn_blocking(move || hub.subscribe(last_id, session.as_deref()))
            .await
            .map_err(|e| ApiError::internal("subscribing to events", e))?;
    let hello = Event::default().retry(RETRY).comment("connected");
    let events = futures_util::stream::unfold(
        (Some(hello), subscription, guard),
        |(hello, mut sub, guard): (Option<Event>, Subscription, ClientGuard)| async move {
            if let Some(hello) = hello {
                return Some((Ok(hello), (None, sub, guard)));
            }
            match sub.next().await {
                Ok(e) => {
                    let event = Event::default()
                        .id(e.id.to_string())
                        .event(e.kind.clone())
                        .data(e.data.clone());
                    Some((Ok(event), (None, sub, guard)))
                }
                Err(_) => None,
            }
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}
