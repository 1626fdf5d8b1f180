//! The performance problems both services reproduce: N+1 queries, a slow query and an
//! intentional SQL error. Handlers validate input, then call these with the request's
//! [`QueryCounter`]; the results are JSON for the `data.results` field.

use serde_json::{Value, json};

use crate::db::{Backend, Db, DbError, Param, Statement};
use crate::query_counter::QueryCounter;

/// Allowed `limit` of the N+1 operation.
pub const LIMIT_RANGE: std::ops::RangeInclusive<i64> = 1..=1000;
/// Allowed `seconds` of the slow query.
pub const SECONDS_RANGE: std::ops::RangeInclusive<f64> = 0.0..=30.0;
/// Default `limit` of the N+1 operation.
pub const DEFAULT_LIMIT: i64 = 20;

/// A product as listed.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ProductRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Category.
    pub category: String,
    /// Price.
    pub price: f64,
    /// Units in stock.
    pub stock: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct CountRow {
    count: i64,
}

const PRODUCTS_PAGE: Statement = Statement::same(
    "products.page",
    "SELECT id, name, category, price, stock FROM products ORDER BY id LIMIT $1",
);
const PRODUCTS_PAGE_IN_CATEGORY: Statement = Statement::same(
    "products.page_in_category",
    "SELECT id, name, category, price, stock FROM products WHERE category = $1 ORDER BY id LIMIT $2",
);
const ORDER_COUNT_OF_PRODUCT: Statement = Statement::same(
    "order_items.count_by_product",
    "SELECT COUNT(*) AS count FROM order_items WHERE product_id = $1",
);
const PG_SLEEP: Statement = Statement::same("slow_query.pg_sleep", "SELECT pg_sleep($1)");
const SQLITE_COUNT_UP: Statement =
    Statement::same("slow_query.count_up", crate::db::sqlite::COUNT_UP_SQL);
/// The intentionally broken statement: a table that does not exist.
pub const BROKEN: Statement = Statement::same(
    "database_error.missing_table",
    "SELECT id, name FROM table_that_does_not_exist WHERE id = $1",
);

/// One query for `limit` products, then one more per product for its order count:
/// `limit + 1` statements (fewer when fewer products match).
pub async fn n_plus_one(
    db: &Db,
    queries: &QueryCounter,
    limit: i64,
    category: Option<&str>,
) -> Result<Value, DbError> {
    let products: Vec<ProductRow> = match category {
        Some(category) => {
            db.fetch_all(
                queries,
                &PRODUCTS_PAGE_IN_CATEGORY,
                &[Param::Text(category.to_owned()), Param::Int(limit)],
            )
            .await?
        }
        None => {
            db.fetch_all(queries, &PRODUCTS_PAGE, &[Param::Int(limit)])
                .await?
        }
    };
    let mut results = Vec::with_capacity(products.len());
    for product in products {
        let count: CountRow = db
            .fetch_one(queries, &ORDER_COUNT_OF_PRODUCT, &[Param::Int(product.id)])
            .await?;
        results.push(json!({
            "id": product.id,
            "name": product.name,
            "category": product.category,
            "price": product.price,
            "order_count": count.count,
        }));
    }
    Ok(Value::Array(results))
}

/// A statement that itself runs about `seconds`: `pg_sleep` on PostgreSQL, a calibrated
/// counting CTE on SQLite.
pub async fn slow_query(db: &Db, queries: &QueryCounter, seconds: f64) -> Result<Value, DbError> {
    let started = std::time::Instant::now();
    let method = match db {
        Db::Postgres(_) => {
            db.execute(queries, &PG_SLEEP, &[Param::Float(seconds)])
                .await?;
            "pg_sleep"
        }
        Db::Sqlite(pool) => {
            let rate = crate::db::sqlite::calibrate(pool)
                .await
                .map_err(|e| DbError::new("slow_query.calibrate", Backend::Sqlite, e))?;
            let rows = crate::db::sqlite::rows_for(seconds, rate);
            let _: CountRow = db
                .fetch_one(queries, &SQLITE_COUNT_UP, &[Param::Int(rows)])
                .await?;
            "recursive_cte"
        }
    };
    Ok(json!({
        "requested_seconds": seconds,
        "query_seconds": started.elapsed().as_secs_f64(),
        "method": method,
    }))
}

/// Runs [`BROKEN`]; always fails with the database's own error.
pub async fn database_error(db: &Db, queries: &QueryCounter) -> DbError {
    match db.execute(queries, &BROKEN, &[Param::Int(1)]).await {
        Err(e) => e,
        Ok(_) => DbError::new(
            BROKEN.name,
            db.backend(),
            sqlx::Error::Protocol("the broken statement unexpectedly succeeded".into()),
        ),
    }
}

/// Checks `limit`; the message names the field as `field`.
pub fn check_limit(field: &str, limit: i64, problems: &mut Vec<(String, String)>) {
    if !LIMIT_RANGE.contains(&limit) {
        problems.push((
            field.to_owned(),
            format!(
                "must be between {} and {}, got {limit}",
                LIMIT_RANGE.start(),
                LIMIT_RANGE.end()
            ),
        ));
    }
}

/// Checks `seconds`; the message names the field as `field`.
pub fn check_seconds(field: &str, seconds: f64, problems: &mut Vec<(String, String)>) {
    if !seconds.is_finite() || !SECONDS_RANGE.contains(&seconds) {
        problems.push((
            field.to_owned(),
            format!(
                "must be between {} and {} seconds, got {seconds}",
                SECONDS_RANGE.start(),
                SECONDS_RANGE.end()
            ),
        ));
    }
}

/// Checks `category` against the seeded categories.
pub fn check_category(field: &str, category: &str, problems: &mut Vec<(String, String)>) {
    if !crate::db::seed::CATEGORIES.contains(&category) {
        problems.push((
            field.to_owned(),
            format!(
                "unknown category {category:?}; expected one of {}",
                crate::db::seed::CATEGORIES.join(", ")
            ),
        ));
    }
}

/// The seeds' default slow-query duration: random 3–5 s.
pub fn default_seconds() -> f64 {
    rand::random_range(3.0..=5.0)
}
