//! The HTTP client on the request path: HTTP/1.1 over hyper 1's connection API, with a pool of
//! keep-alive connections per origin, TLS through rustls for `https` targets, the request's own
//! timeout, and redirects followed only within the origin they started from.
//!
//! Nothing here parses a URL per request: an endpoint's [`Route`] (its origin and request-target)
//! is made once, and its headers (`Host`, `User-Agent` included) are prepared once by the plan;
//! a request is those values handed to hyper. Only a templated path is routed per request.
//!
//! Pool: a connection goes back to its origin's idle stack once its answer's body has been read
//! to the end ([`Lease::release`]); a request takes the most recently used ready connection or
//! opens one, so the number of connections follows the number of requests in flight (like
//! wrk's), not the number of users. A request that finds its pooled connection closed by the
//! target before it was written is sent again on a new connection, as browsers do.

mod origin;
mod tls;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LOCATION};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use lt_scenario::Scenario;
use lt_scenario::address::Url;
use tokio::time::Instant;

pub use origin::Origin;
use origin::{OriginKey, Sender};
pub use tls::verifying_config;

/// At most this many redirects are followed for one request.
const MAX_REDIRECTS: usize = 10;

/// Where one request goes: its origin (and so its pool) and its request-target.
#[derive(Debug, Clone)]
pub struct Route {
    origin: Arc<Origin>,
    target: PathAndQuery,
}

impl Route {
    /// The route to `url` on this route's origin: for a rendered path or a redirect, which never
    /// leave the origin they started from, so no origin is looked up again.
    pub fn to(&self, url: &Url) -> Result<Route, TransportError> {
        Ok(Route {
            origin: Arc::clone(&self.origin),
            target: request_target(url)?,
        })
    }

    /// The `Host` header of this route's origin.
    pub fn host_header(&self) -> &http::HeaderValue {
        self.origin.host_header()
    }
}

/// A request, ready to send: everything but the route.
#[derive(Debug)]
pub struct Outgoing {
    pub method: Method,
    /// Every header, `Host` included.
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No connection: refused, unreachable, name not found, TLS handshake failed.
    #[error("connect error: {0}")]
    Connect(String),
    /// No answer within the request's timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection failed while the request was sent or before the answer's head came.
    #[error("{0}")]
    Request(String),
    /// The URL cannot be sent (a request-target HTTP refuses).
    #[error("{0}")]
    Invalid(String),
}

/// An answer whose body is still to be read, and the connection it came on.
#[derive(Debug)]
pub struct Sent {
    pub response: Response<Incoming>,
    pub lease: Lease,
}

/// A connection lent to one exchange.
#[derive(Debug)]
pub struct Lease {
    origin: Arc<Origin>,
    sender: Sender,
}

impl Lease {
    /// Gives the connection back to its origin's pool: call once the body is read to its end.
    /// (Dropping the lease instead closes the connection once hyper notices.)
    pub fn release(self) {
        self.origin.put(self.sender);
    }
}

/// The run's one client.
#[derive(Debug)]
pub struct Transport {
    tls: Option<Arc<rustls::ClientConfig>>,
    origins: Mutex<HashMap<OriginKey, Arc<Origin>>>,
}

impl Transport {
    /// A client for `scenario`: with TLS set up (from its `tls` section) when any of its
    /// destinations is `https`.
    pub fn new(scenario: &Scenario) -> Result<Self, String> {
        // The destinations the allow-list judged; a redirect never leaves its origin and a
        // rendered path never leaves the target's, so these are every origin of the run.
        let https = lt_scenario::address::destinations(scenario)?
            .iter()
            .any(|u| u.scheme() == "https");
        let tls = if https || !scenario.tls.is_default() {
            Some(tls::client_config(&scenario.tls)?)
        } else {
            None
        };
        Ok(Transport {
            tls,
            origins: Mutex::new(HashMap::new()),
        })
    }

    /// The route to `url` (an absolute `http` or `https` URL).
    pub fn route(&self, url: &Url) -> Result<Route, TransportError> {
        let key = OriginKey::of(url).map_err(TransportError::Invalid)?;
        let origin = {
            let mut origins = self.origins.lock().unwrap_or_else(|p| p.into_inner());
            match origins.get(&key) {
                Some(o) => Arc::clone(o),
                None => {
                    let origin = Arc::new(Origin::new(key.clone(), url)?);
                    origins.insert(key, Arc::clone(&origin));
                    origin
                }
            }
        };
        Ok(Route {
            target: request_target(url)?,
            origin,
        })
    }

    /// Sends `request` to `route` (whose URL is `url`, for resolving redirects) and waits for
    /// its answer's head, all before `deadline`; the body is the caller's to read, before the
    /// same deadline. Redirects within the origin are followed (a 303, or a 301/302 after a
    /// POST, becomes a GET without body, as browsers do); one elsewhere is the answer.
    pub async fn send(
        &self,
        route: &Route,
        url: &Url,
        request: Outgoing,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Sent, TransportError> {
        let first = tokio::time::timeout_at(deadline, self.exchange(route, &request)).await;
        let sent = first.map_err(|_| TransportError::Timeout(timeout))??;
        if !is_redirect(sent.response.status()) {
            return Ok(sent);
        }
        self.follow(route, url, request, sent, deadline, timeout)
            .await
    }

    /// Follows the redirects that `sent` starts, within `route`'s origin.
    async fn follow(
        &self,
        route: &Route,
        url: &Url,
        mut request: Outgoing,
        mut sent: Sent,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Sent, TransportError> {
        let mut url = url.clone();
        for _ in 0..MAX_REDIRECTS {
            let status = sent.response.status();
            if !is_redirect(status) {
                break;
            }
            let Some(next) = sent
                .response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .filter(|next| next.origin() == url.origin())
            else {
                break;
            };
            // The redirect's own body is read through, so its connection is reused.
            let Sent { response, lease } = sent;
            let drained = tokio::time::timeout_at(deadline, response.into_body().collect()).await;
            if let Ok(Ok(_)) = drained {
                lease.release();
            }
            if status == StatusCode::SEE_OTHER && request.method != Method::HEAD
                || matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                    && request.method == Method::POST
            {
                request.method = Method::GET;
                request.body = Bytes::new();
                request.headers.remove(CONTENT_TYPE);
                request.headers.remove(CONTENT_LENGTH);
            }
            let next_route = route.to(&next)?;
            let exchange = self.exchange(&next_route, &request);
            sent = tokio::time::timeout_at(deadline, exchange)
                .await
                .map_err(|_| TransportError::Timeout(timeout))??;
            url = next;
        }
        Ok(sent)
    }

    /// One request on one connection: a pooled one that is ready, or a new one.
    async fn exchange(&self, route: &Route, request: &Outgoing) -> Result<Sent, TransportError> {
        let origin = &route.origin;
        let mut message = build(route, request);
        loop {
            let (mut sender, reused) = match origin.take_ready().await {
                Some(sender) => (sender, true),
                None => (origin.connect(self.tls.as_ref()).await?, false),
            };
            match sender.try_send_request(message).await {
                Ok(response) => {
                    return Ok(Sent {
                        response,
                        lease: Lease {
                            origin: Arc::clone(origin),
                            sender,
                        },
                    });
                }
                Err(mut e) => match e.take_message() {
                    // The target closed the idle connection before the request was written.
                    Some(unsent) if reused => message = unsent,
                    _ => return Err(TransportError::Request(chain(&e.into_error()))),
                },
            }
        }
    }
}

/// The hyper request for `request` on `route`.
fn build(route: &Route, request: &Outgoing) -> Request<Full<Bytes>> {
    let mut message = Request::new(Full::new(request.body.clone()));
    *message.method_mut() = request.method.clone();
    *message.uri_mut() = Uri::from(route.target.clone());
    *message.headers_mut() = request.headers.clone();
    message
}

/// The origin-form request-target (`/path?query`) of `url`.
fn request_target(url: &Url) -> Result<PathAndQuery, TransportError> {
    let text = &url[url::Position::BeforePath..url::Position::AfterQuery];
    PathAndQuery::from_maybe_shared(Bytes::copy_from_slice(text.as_bytes()))
        .map_err(|e| TransportError::Invalid(format!("the request-target cannot be sent: {e}")))
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// An error with its sources, one after another.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
