//! The database layer: deterministic seed, idempotent and race-free first start, on SQLite and
//! (when `TEST_DATABASE_URL` is set) PostgreSQL.

mod common;

use targets::Service;
use targets::db::{Db, Param, Statement};
use targets::query_counter::QueryCounter;

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Fingerprint {
    users: i64,
    products: i64,
    orders: i64,
    items: i64,
    total_cents: i64,
    emails: String,
}

const FINGERPRINT: Statement = Statement::same(
    "test.fingerprint",
    "SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM products) AS products, \
     (SELECT COUNT(*) FROM orders) AS orders, (SELECT COUNT(*) FROM order_items) AS items, \
     (SELECT CAST(SUM(CAST(ROUND(total * 100) AS BIGINT)) AS BIGINT) FROM orders) AS total_cents, \
     (SELECT MIN(name) || '|' || MAX(name) FROM users WHERE id <= $1) AS emails",
);

async fn fingerprint(db: &Db) -> Fingerprint {
    db.fetch_one(
        &QueryCounter::new(Service::Ec),
        &FINGERPRINT,
        &[Param::Int(50)],
    )
    .await
    .expect("fingerprint")
}

/// Opens `url` twice at once; both succeed and the rows are written once.
async fn check_concurrent_first_start(url: &str) -> Fingerprint {
    let (a, b) = tokio::join!(Db::open(url, 1), Db::open(url, 1));
    let (a, b) = (a.expect("first open"), b.expect("second open"));
    let fp = fingerprint(&a).await;
    assert_eq!(fp.users, 200);
    assert_eq!(fp.products, 500);
    assert_eq!(fp.orders, 5_000);
    assert_eq!(fingerprint(&b).await, fp);
    a.close().await;
    b.close().await;
    // A restart keeps the data.
    let again = Db::open(url, 1).await.expect("reopen");
    assert_eq!(fingerprint(&again).await, fp);
    again.close().await;
    fp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_seed_is_deterministic_and_race_free() {
    let one = tempfile::tempdir().expect("tempdir");
    let two = tempfile::tempdir().expect("tempdir");
    let a = check_concurrent_first_start(&targets::db::sqlite::default_url(one.path())).await;
    let b = check_concurrent_first_start(&targets::db::sqlite::default_url(two.path())).await;
    assert_eq!(a, b, "same scale, same rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_seed_matches_sqlite_and_is_race_free() {
    let Some(admin) = common::pg_admin_url() else {
        return;
    };
    let pg = common::create_pg_database(&admin).await;
    let on_pg = check_concurrent_first_start(&pg.url()).await;
    pg.drop_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let on_sqlite =
        check_concurrent_first_start(&targets::db::sqlite::default_url(dir.path())).await;
    assert_eq!(on_pg, on_sqlite, "both backends hold the same seed");
}
