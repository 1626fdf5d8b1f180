//! A stand-in of the Kubernetes API server: an axum server on loopback that answers the calls
//! the launcher makes as Kubernetes does (objects back with a uid, `Status` objects for 403
//! Forbidden, 404 NotFound and 409 AlreadyExists, dependents garbage-collected with their owner)
//! and records each call. No cluster can run where this project is built and tested; this is the
//! one place a stand-in replaces the real thing (`docs/distributed.md`).
//!
//! With a [`Kubelet`] it also acts for the nodes: it is told when a Job is created or deleted
//! and says how the Job's pods are doing (the e2e tests run real generators for it).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
pub use axum::http::Method;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One call the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub content_type: String,
    pub body: Value,
}

/// What a cluster's nodes do with Jobs.
pub trait Kubelet: Send {
    /// Job `job` (as stored, with its uid) was created; `objects` holds every object by path
    /// (its Secrets, to resolve `secretKeyRef`).
    fn job_created(&mut self, job: &Value, objects: &BTreeMap<String, Value>);
    /// Job `job` was deleted: its pods go.
    fn job_deleted(&mut self, job: &Value);
    /// Job `job`'s `status` now (`active`, `ready`, `succeeded`, `failed`).
    fn job_status(&mut self, job: &Value) -> Option<Value>;
}

/// The stand-in's state.
#[derive(Default)]
pub struct ApiServer {
    pub calls: Vec<Recorded>,
    /// Objects by path (`/api/v1/namespaces/perf/secrets/x`).
    pub objects: BTreeMap<String, Value>,
    /// `(method, collection or object path)` answered 403 Forbidden.
    pub forbidden: Vec<(Method, String)>,
    pub uids: u32,
    pub kubelet: Option<Box<dyn Kubelet>>,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("calls", &self.calls.len())
            .field("objects", &self.objects.keys())
            .finish_non_exhaustive()
    }
}

pub type Shared = Arc<Mutex<ApiServer>>;

/// A stand-in on a free loopback port: its state and its address (`http://ADDR`).
pub async fn start(kubelet: Option<Box<dyn Kubelet>>) -> (Shared, SocketAddr) {
    let server: Shared = Arc::new(Mutex::new(ApiServer {
        kubelet,
        ..ApiServer::default()
    }));
    let app = Router::new().fallback(answer).with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (server, addr)
}

/// A kubeconfig file's text whose one cluster is the stand-in at `addr`, over plain http.
pub fn kubeconfig(addr: SocketAddr, namespace: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: stand-in\n  cluster:\n    server: http://{addr}\n\
         contexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    user: stand-in\n    namespace: {namespace}\n\
         current-context: stand-in\nusers:\n- name: stand-in\n  user: {{}}\n"
    )
}

/// Kubernetes' `Status` object for a failed call.
fn status(code: StatusCode, reason: &str, message: String) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code.as_u16(),
    });
    (code, axum::Json(body)).into_response()
}

fn resource_of(path: &str) -> (&'static str, &'static str) {
    if path.contains("/jobs") {
        ("jobs", "batch")
    } else {
        ("secrets", "")
    }
}

async fn answer(
    State(server): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap()
    };
    let mut guard = server.lock().unwrap();
    let server = &mut *guard;
    server.calls.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        content_type: headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default(),
        body: body.clone(),
    });
    let (resource, group) = resource_of(&path);
    let group_text = if group.is_empty() {
        String::new()
    } else {
        format!(".{group}")
    };
    let namespace = path
        .split('/')
        .skip_while(|s| *s != "namespaces")
        .nth(1)
        .unwrap_or("");
    if server
        .forbidden
        .iter()
        .any(|(m, p)| *m == method && path.starts_with(p.as_str()))
    {
        let verb = match method {
            Method::POST => "create",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            _ => "get",
        };
        return status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "{resource}{group_text} is forbidden: User \"system:serviceaccount:{namespace}:load-tester\" \
                 cannot {verb} resource \"{resource}\" in API group \"{group}\" in the namespace \"{namespace}\""
            ),
        );
    }
    let not_found = |name: &str| {
        status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{resource}{group_text} \"{name}\" not found"),
        )
    };
    let name = path.rsplit('/').next().unwrap_or("").to_string();
    match method {
        Method::POST => {
            let name = body["metadata"]["name"].as_str().unwrap().to_string();
            let key = format!("{path}/{name}");
            if server.objects.contains_key(&key) {
                return status(
                    StatusCode::CONFLICT,
                    "AlreadyExists",
                    format!("{resource}{group_text} \"{name}\" already exists"),
                );
            }
            server.uids += 1;
            let mut object = body;
            object["metadata"]["uid"] = json!(format!("uid-{}", server.uids));
            object["metadata"]["resourceVersion"] = json!("1");
            server.objects.insert(key, object.clone());
            if resource == "jobs"
                && let Some(kubelet) = &mut server.kubelet
            {
                kubelet.job_created(&object, &server.objects);
            }
            (StatusCode::CREATED, axum::Json(object)).into_response()
        }
        Method::GET => match server.objects.get(&path) {
            Some(object) => {
                let mut object = object.clone();
                if resource == "jobs"
                    && let Some(kubelet) = &mut server.kubelet
                    && let Some(status) = kubelet.job_status(&object)
                {
                    object["status"] = status;
                }
                axum::Json(object).into_response()
            }
            None => not_found(&name),
        },
        Method::PATCH => match server.objects.get_mut(&path) {
            Some(object) => {
                // A merge patch of the metadata (all the launcher sends).
                for (k, v) in body["metadata"].as_object().unwrap() {
                    object["metadata"][k] = v.clone();
                }
                axum::Json(object.clone()).into_response()
            }
            None => not_found(&name),
        },
        Method::DELETE => match server.objects.remove(&path) {
            Some(mut object) => {
                if resource == "jobs"
                    && let Some(kubelet) = &mut server.kubelet
                {
                    kubelet.job_deleted(&object);
                }
                // The garbage collector: objects the deleted one owns go with it.
                let uid = object["metadata"]["uid"].clone();
                server.objects.retain(|_, o| {
                    !o["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|owners| owners.iter().any(|r| r["uid"] == uid))
                });
                // Foreground: the object is answered with its deletion under way.
                object["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
                object["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
                axum::Json(object).into_response()
            }
            None => not_found(&name),
        },
        _ => status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "not supported".into(),
        ),
    }
}
