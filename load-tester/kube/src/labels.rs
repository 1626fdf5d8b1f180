//! The labels every object carries: Kubernetes' recommended `app.kubernetes.io/*` set and the
//! session's.

use std::collections::BTreeMap;

use crate::names::label_value;

/// The label naming the session (or, in printed manifests, the scenario) an object belongs to.
pub const SESSION_LABEL: &str = "load-tester/session";

/// The labels of an object of `component` (`generator`, `coordinator`); with the session label
/// when `session` is given (the namespace-wide objects have none).
pub fn labels(component: &str, session: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = selector(component);
    labels.insert("app.kubernetes.io/part-of".into(), "load-tester".into());
    labels.insert("app.kubernetes.io/managed-by".into(), "load-tester".into());
    labels.insert(
        "app.kubernetes.io/version".into(),
        env!("CARGO_PKG_VERSION").into(),
    );
    if let Some(session) = session {
        let value = label_value(session);
        labels.insert("app.kubernetes.io/instance".into(), value.clone());
        labels.insert(SESSION_LABEL.into(), value);
    }
    labels
}

/// The labels that pick out the pods of `component` (a Service's selector).
pub(crate) fn selector(component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/name".to_string(),
            "load-tester".to_string(),
        ),
        (
            "app.kubernetes.io/component".to_string(),
            component.to_string(),
        ),
    ])
}
