//! The API token: configured (`LT_API_TOKEN`) or generated on first start, printed once and
//! stored only as its SHA-256. Mutating calls always need it; reads as `read_access` says.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

use crate::error::ApiError;
use crate::live_settings::LiveSettings;
use crate::settings::ReadAccess;

/// The settings key of the stored token hash.
const TOKEN_KEY: &str = "api_token_sha256";

/// The token the server accepts, as a hash.
#[derive(Debug, Clone)]
pub struct Token {
    hash: [u8; 32],
}

/// How the token came to be, for the start-up message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOrigin {
    /// From the settings (`LT_API_TOKEN`).
    Configured,
    /// Made now; the only time it is shown.
    Generated(String),
    /// Made on an earlier start; only its hash is kept.
    Stored,
}

impl Token {
    /// The configured token, the stored one, or a new one (stored hashed).
    pub fn load(
        configured: Option<&str>,
        store: &lt_store::Store,
        renew: bool,
        now_ms: u64,
    ) -> Result<(Token, TokenOrigin), lt_store::StoreError> {
        if let Some(token) = configured {
            return Ok((Token::from_secret(token.trim()), TokenOrigin::Configured));
        }
        if !renew
            && let Some(stored) = store.setting(TOKEN_KEY)?
            && let Some(hash) = from_hex(&stored)
        {
            return Ok((Token { hash }, TokenOrigin::Stored));
        }
        let secret: String = rand::random::<[u8; 24]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let token = Token::from_secret(&secret);
        store.set_setting(TOKEN_KEY, &to_hex(&token.hash), now_ms)?;
        Ok((token, TokenOrigin::Generated(secret)))
    }

    pub(crate) fn from_secret(secret: &str) -> Token {
        Token {
            hash: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    /// Whether `candidate` is the token (compared as hashes, in constant time).
    pub fn matches(&self, candidate: &str) -> bool {
        let other: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        self.hash
            .iter()
            .zip(other.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
    }
    Some(out)
}

/// Who made a call, as recorded in the audit log and configuration history.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// Whether a call only reads: GET and friends, and validating YAML (a POST because it carries a
/// body, but it changes nothing). Reads follow `read_access` and are not audited.
pub fn is_read(method: &Method, path: &str) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || (*method == Method::POST && path == "/api/scenarios/validate")
}

/// What the token check needs: the token and the settings in force (`read_access`).
#[derive(Debug, Clone)]
pub struct AuthState {
    pub token: Token,
    pub settings: std::sync::Arc<LiveSettings>,
}

/// Checks the token where needed and tags the request with its [`Caller`].
pub async fn guard(
    State(app): State<AuthState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let mutating = !is_read(request.method(), path);
    let presented = bearer(request.headers());
    // A token that is presented is checked even where none is needed: a wrong one is an error
    // its holder wants to hear about, not something to ignore.
    let needs_token = path == "/api/token"
        || presented.is_some()
        || (path != "/api/health"
            && (mutating
                || match app.settings.get().read_access {
                    ReadAccess::Open => false,
                    ReadAccess::Loopback => !client.ip().is_loopback(),
                    ReadAccess::Token => true,
                }));
    let caller = match presented {
        Some(t) if app.token.matches(t) => Some(actor(request.headers())),
        _ => None,
    };
    if needs_token && caller.is_none() {
        let message = match presented {
            None => {
                "this call needs `Authorization: Bearer <token>` (the token is printed when the server first starts, or set with LT_API_TOKEN)"
            }
            Some(_) => "the bearer token is not this server's API token",
        };
        let mut response =
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
        response.extensions_mut().insert(Caller("anonymous".into()));
        return response;
    }
    let caller = Caller(caller.unwrap_or_else(|| "anonymous".into()));
    request.extensions_mut().insert(caller.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(caller);
    response
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The name a token holder gives in `X-Actor` (for the audit log), or `api-token`.
fn actor(headers: &HeaderMap) -> String {
    headers
        .get("x-actor")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .take(64)
                .collect::<String>()
        })
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "api-token".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_by_hash_only() {
        let t = Token::from_secret("correct horse battery staple");
        assert!(t.matches("correct horse battery staple"));
        assert!(!t.matches("correct horse battery stapl"));
        assert!(!t.matches(""));
        assert_eq!(from_hex(&to_hex(&t.hash)), Some(t.hash));
        assert_eq!(from_hex("zz"), None);
    }

    #[test]
    fn a_generated_token_is_stored_hashed_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let store = lt_store::Store::open(&dir.path().join("s.db")).unwrap();
        let (first, origin) = Token::load(None, &store, false, 1).unwrap();
        let TokenOrigin::Generated(secret) = origin else {
            panic!("expected a new token")
        };
        assert!(first.matches(&secret));
        let stored = store.setting(TOKEN_KEY).unwrap().unwrap();
        assert!(!stored.contains(&secret));
        let (again, origin) = Token::load(None, &store, false, 2).unwrap();
        assert_eq!(origin, TokenOrigin::Stored);
        assert!(again.matches(&secret));
        let (renewed, _) = Token::load(None, &store, true, 3).unwrap();
        assert!(!renewed.matches(&secret));
    }

    fn guarded(read_access: ReadAccess) -> axum::Router {
        let settings = crate::settings::Settings {
            read_access,
            ..Default::default()
        };
        let state = AuthState {
            token: Token::from_secret("the-right-token-0123"),
            settings: std::sync::Arc::new(LiveSettings::new(settings)),
        };
        axum::Router::new()
            .route(
                "/api/sessions",
                axum::routing::get(
                    |axum::Extension(c): axum::Extension<Caller>| async move { c.0 },
                )
                .post(|| async { "started" }),
            )
            .layer(axum::middleware::from_fn_with_state(state, guard))
    }

    #[tokio::test]
    async fn the_guard_alone_asks_for_the_token_where_it_should() {
        use crate::test_support::{call, request};
        let right = Some("the-right-token-0123");
        let wrong = Some("not-the-token-at-all");
        let cases = [
            (ReadAccess::Loopback, "GET", "127.0.0.1:9", None, 200),
            (ReadAccess::Loopback, "GET", "10.1.2.3:9", None, 401),
            (ReadAccess::Loopback, "GET", "10.1.2.3:9", right, 200),
            (ReadAccess::Loopback, "GET", "127.0.0.1:9", wrong, 401),
            (ReadAccess::Loopback, "POST", "127.0.0.1:9", None, 401),
            (ReadAccess::Loopback, "POST", "127.0.0.1:9", right, 200),
            (ReadAccess::Open, "GET", "10.1.2.3:9", None, 200),
            (ReadAccess::Token, "GET", "127.0.0.1:9", None, 401),
        ];
        for (access, method, client, token, want) in cases {
            let (status, body) = call(
                guarded(access),
                request(method, "/api/sessions", client, token),
            )
            .await;
            assert_eq!(
                status.as_u16(),
                want,
                "{access:?} {method} from {client} with {token:?}"
            );
            if want == 401 {
                assert_eq!(body["code"], "unauthorized");
            }
        }
    }
}
