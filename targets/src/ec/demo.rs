//! `GET /`: the demo page (seed 001, task 5.3): one button per performance and distributed
//! operation, showing the answer's JSON and the response time. Plain HTML and inline JS,
//! embedded in the binary.

use axum::response::Html;

const PAGE: &str = include_str!("demo.html");

pub(super) async fn page() -> Html<&'static str> {
    Html(PAGE)
}
