//! Ordinary reads for realistic load mixes: product pages (with category filter), one product,
//! one order with its items. All indexed lookups.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::EcState;
use crate::db::{Param, Statement};
use crate::http::api_error::ApiError;
use crate::http::context::RequestContext;
use crate::http::extract::ApiQuery;
use crate::operations::{ProductRow, check_category};

pub(super) fn routes() -> Router<EcState> {
    Router::new()
        .route("/api/products", get(list_products))
        .route("/api/products/{id}", get(product))
        .route("/api/orders/{id}", get(order))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    per_page: Option<i64>,
    #[serde(default)]
    category: Option<String>,
}

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct ProductDetail {
    id: i64,
    name: String,
    category: String,
    price: f64,
    description: String,
    stock: i64,
    created_at: String,
}

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct OrderRow {
    id: i64,
    user_id: i64,
    status: String,
    total: f64,
    created_at: String,
}

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct ItemRow {
    id: i64,
    product_id: i64,
    product_name: String,
    quantity: i64,
    unit_price: f64,
}

const PAGE: Statement = Statement::same(
    "products.list",
    "SELECT id, name, category, price, stock FROM products ORDER BY id LIMIT $1 OFFSET $2",
);
const PAGE_IN_CATEGORY: Statement = Statement::same(
    "products.list_in_category",
    "SELECT id, name, category, price, stock FROM products WHERE category = $1 ORDER BY id LIMIT $2 OFFSET $3",
);
const PRODUCT: Statement = Statement::same(
    "products.by_id",
    "SELECT id, name, category, price, description, stock, created_at FROM products WHERE id = $1",
);
/// The indexed lookup the full scan is compared with (primary key).
pub const ORDER: Statement = Statement::same(
    "orders.by_id",
    "SELECT id, user_id, status, total, created_at FROM orders WHERE id = $1",
);
/// Items of one order (index on `order_items.order_id`).
pub const ORDER_ITEMS: Statement = Statement::same(
    "order_items.by_order",
    "SELECT oi.id AS id, oi.product_id AS product_id, p.name AS product_name, oi.quantity AS quantity, \
     oi.unit_price AS unit_price FROM order_items oi JOIN products p ON p.id = oi.product_id \
     WHERE oi.order_id = $1 ORDER BY oi.id",
);

async fn list_products(
    State(state): State<EcState>,
    ctx: RequestContext,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(20);
    let mut problems = Vec::new();
    if page < 1 {
        problems.push(("page".to_owned(), format!("must be 1 or more, got {page}")));
    }
    if !(1..=100).contains(&per_page) {
        problems.push((
            "per_page".to_owned(),
            format!("must be between 1 and 100, got {per_page}"),
        ));
    }
    if let Some(category) = &query.category {
        check_category("category", category, &mut problems);
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let offset = (page - 1).saturating_mul(per_page);
    let rows: Vec<ProductRow> = match &query.category {
        Some(c) => {
            state
                .db
                .fetch_all(
                    &ctx.queries,
                    &PAGE_IN_CATEGORY,
                    &[
                        Param::Text(c.clone()),
                        Param::Int(per_page),
                        Param::Int(offset),
                    ],
                )
                .await
        }
        None => {
            state
                .db
                .fetch_all(
                    &ctx.queries,
                    &PAGE,
                    &[Param::Int(per_page), Param::Int(offset)],
                )
                .await
        }
    }
    .map_err(|e| ApiError::database(&e))?;
    Ok(Json(json!({
        "products": rows,
        "page": page,
        "per_page": per_page,
        "category": query.category,
    })))
}

async fn product(
    State(state): State<EcState>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    let row: Option<ProductDetail> = state
        .db
        .fetch_optional(&ctx.queries, &PRODUCT, &[Param::Int(id)])
        .await
        .map_err(|e| ApiError::database(&e))?;
    let row = row.ok_or_else(|| ApiError::not_found("product", id))?;
    Ok(Json(json!({ "product": row })))
}

async fn order(
    State(state): State<EcState>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    let row: Option<OrderRow> = state
        .db
        .fetch_optional(&ctx.queries, &ORDER, &[Param::Int(id)])
        .await
        .map_err(|e| ApiError::database(&e))?;
    let row = row.ok_or_else(|| ApiError::not_found("order", id))?;
    let items: Vec<ItemRow> = state
        .db
        .fetch_all(&ctx.queries, &ORDER_ITEMS, &[Param::Int(id)])
        .await
        .map_err(|e| ApiError::database(&e))?;
    Ok(Json(json!({ "order": row, "items": items })))
}

fn parse_id(field: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::validation(vec![(
            field.to_owned(),
            format!("must be a positive integer, got {raw:?}"),
        )])
    })
}
