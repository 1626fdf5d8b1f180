//! Per-user cookie jars, checks and environment templates at a recording target: a login step's
//! cookie is sent back by the same user only, and only where `cookies: true`; a failed check is
//! counted as `check`; `{{ env.X }}` reaches the target. One test per file: Goose allows one run
//! per process.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use lt_engine::{Engine, RunOptions};
use lt_protocol::EndReason;
use lt_scenario::{Env, Overrides};

/// (route, user id header, cookie header, x-env header)
type Seen = (String, String, Option<String>, Option<String>);

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_cookie_goes_back_with_its_own_user_only_where_the_jar_is_on() {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = |route: &'static str| {
        move |State(seen): State<Arc<Mutex<Vec<Seen>>>>, h: HeaderMap| async move {
            let user = header(&h, "x-user-id").unwrap_or_default();
            seen.lock().unwrap().push((
                route.to_string(),
                user.clone(),
                header(&h, "cookie"),
                header(&h, "x-env"),
            ));
            let cookie = format!("sid=user-{user}; Path=/; HttpOnly");
            ([("set-cookie", cookie)], "{\"status\":\"ok\"}")
        }
    };
    let app = Router::new()
        .route("/login", get(record("login")))
        .route("/me", get(record("me")))
        .route("/plain-login", get(record("plain-login")))
        .route("/plain-me", get(record("plain-me")))
        .route("/checked", get(record("checked")))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Four users with one id each (the id range is as long as the users).
    let yaml = format!(
        r#"name: cookies
target: {target}
load:
  users: 4
  duration: 3s
  think_time: {{ min: 1ms, max: 3ms }}
user_ids: {{ from: 1, to: 4 }}
endpoints:
  - name: checked
    path: /checked
    headers: {{ X-Env: "{{{{ env.JOURNEY_SECRET }}}}" }}
    check: {{ body_contains: "nope" }}
flows:
  - name: with-jar
    cookies: true
    weight: 2
    steps:
      - {{ name: login, path: /login }}
      - {{ name: me, path: /me, check: {{ json: {{ /status: ok }} }} }}
  - name: without-jar
    weight: 2
    steps:
      - {{ name: login, path: /plain-login }}
      - {{ name: me, path: /plain-me }}
protection:
  max_errors_per_minute: off
"#
    );
    let env = Env::from_vars([("JOURNEY_SECRET".to_string(), "from-the-env".to_string())]);
    let scenario = lt_scenario::parse_with_env("cookies.yaml", &yaml, &Overrides::default(), &env)
        .expect("valid scenario");
    let (engine, _handle) = Engine::new(scenario, RunOptions::default()).unwrap();
    let report = engine.run().await.unwrap();
    assert_eq!(report.end_reason, EndReason::Completed);

    let seen = seen.lock().unwrap().clone();
    let of = |route: &'static str| seen.iter().filter(move |s| s.0 == route);
    // With the jar: after a user's first login, every request of that user carries its own
    // cookie and never another user's.
    assert!(of("me").count() > 50);
    for (_, user, cookie, _) in of("me") {
        assert_eq!(cookie.as_deref(), Some(format!("sid=user-{user}").as_str()));
    }
    let later_logins = of("login").filter(|s| s.2.is_some()).count();
    assert!(later_logins > 0, "a user's later logins carry its cookie");
    for (_, user, cookie, _) in of("login").filter(|s| s.2.is_some()) {
        assert_eq!(cookie.as_deref(), Some(format!("sid=user-{user}").as_str()));
    }
    // Without the jar (the flow's and the scenario's off), no cookie is ever sent.
    assert!(of("plain-me").count() > 50);
    assert!(
        of("plain-me")
            .chain(of("plain-login"))
            .chain(of("checked"))
            .all(|s| s.2.is_none())
    );
    // The environment's value reached the target.
    assert!(of("checked").all(|s| s.3.as_deref() == Some("from-the-env")));
    // A failed check is a failure of class `check`, named in its group.
    let checked = report
        .endpoints
        .iter()
        .find(|e| e.name == "checked")
        .unwrap();
    assert_eq!(checked.failures_by_class.check, checked.requests);
    assert!(checked.requests > 0);
    let group = report
        .errors
        .iter()
        .find(|g| g.endpoint == "checked")
        .unwrap();
    assert!(group.message.contains("body_contains"), "{}", group.message);
    let me = report
        .endpoints
        .iter()
        .find(|e| e.name == "with-jar/me")
        .unwrap();
    assert_eq!(me.failures, 0, "the json check passes");
}
