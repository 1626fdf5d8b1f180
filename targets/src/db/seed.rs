//! Deterministic, scalable seed data.
//!
//! The same `scale` always produces the same rows: values come from a SplitMix64 generator with
//! a fixed seed, never from the clock. Rows are written with multi-row `INSERT`s (values are
//! generated here from fixed word lists, never from input) inside one transaction.
//!
//! Sizes per scale unit: 200 users, 500 products, 5,000 orders, about 15,000 order items, 100
//! todos (todo `n` has the id [`todo_id`]`(n)`; todo 1 is the newest).

use std::fmt::Write as _;
use std::time::Instant;

use sqlx::AssertSqlSafe;

use super::{Backend, Db, DbError};

/// Rows per scale unit.
pub const USERS_PER_SCALE: u64 = 200;
/// Rows per scale unit.
pub const PRODUCTS_PER_SCALE: u64 = 500;
/// Rows per scale unit.
pub const ORDERS_PER_SCALE: u64 = 5_000;
/// Todos per scale unit.
pub const TODOS_PER_SCALE: u64 = 100;
/// Default `--scale`: about 150,000 order items.
pub const DEFAULT_SCALE: u32 = 10;
/// Product categories, in id order (product `i` has category `i % len`).
pub const CATEGORIES: [&str; 10] = [
    "Electronics",
    "Books",
    "Clothing",
    "Home",
    "Sports",
    "Toys",
    "Beauty",
    "Garden",
    "Food",
    "Automotive",
];
const ROWS_PER_INSERT: usize = 500;

const FIRST_NAMES: [&str; 16] = [
    "Aiko", "Ben", "Chloe", "Daiki", "Emma", "Felix", "Grace", "Haruto", "Isla", "Jun", "Kenji",
    "Lena", "Mei", "Noah", "Olivia", "Ren",
];
const LAST_NAMES: [&str; 12] = [
    "Sato", "Smith", "Suzuki", "Garcia", "Tanaka", "Müller", "Ito", "Brown", "Kato", "Rossi",
    "Yamada", "Nguyen",
];
const ADJECTIVES: [&str; 12] = [
    "Compact", "Deluxe", "Eco", "Classic", "Smart", "Portable", "Premium", "Rugged", "Slim",
    "Ultra", "Vintage", "Wireless",
];
const NOUNS: [&str; 12] = [
    "Lamp", "Backpack", "Speaker", "Kettle", "Jacket", "Novel", "Drone", "Blender", "Racket",
    "Puzzle", "Serum", "Planter",
];
const WORDS: [&str; 24] = [
    "durable",
    "lightweight",
    "design",
    "quality",
    "everyday",
    "use",
    "perfect",
    "gift",
    "for",
    "home",
    "office",
    "travel",
    "with",
    "easy",
    "care",
    "and",
    "long",
    "lasting",
    "comfort",
    "modern",
    "style",
    "value",
    "choice",
    "trusted",
];
const TODO_VERBS: [&str; 10] = [
    "Buy",
    "Fix",
    "Return",
    "Clean",
    "Pack",
    "Order",
    "Review",
    "Paint",
    "Call about",
    "Sell",
];
const STATUSES: [&str; 5] = ["pending", "paid", "shipped", "delivered", "cancelled"];

/// A small deterministic PRNG (SplitMix64).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// What a seed run wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedSummary {
    /// The scale used.
    pub scale: u32,
    /// Users written.
    pub users: u64,
    /// Products written.
    pub products: u64,
    /// Orders written.
    pub orders: u64,
    /// Order items written.
    pub order_items: u64,
    /// Todos written.
    pub todos: u64,
}

/// Seeds the tables when `seed_info` is empty; returns what was written, or `None` when the
/// database was already seeded (a different scale is logged, not changed).
pub async fn seed_if_empty(db: &Db, scale: u32) -> Result<Option<SeedSummary>, DbError> {
    let existing = existing_scale(db).await?;
    if let Some(existing) = existing {
        if existing != i64::from(scale) {
            tracing::warn!(
                existing,
                requested = scale,
                "database already seeded at another scale; keeping it (use a new --data-dir or database to reseed)"
            );
        }
        return Ok(None);
    }
    let start = Instant::now();
    let (statements, summary) = build(scale.max(1), db.backend());
    if !run_in_transaction(db, statements).await? {
        tracing::info!("another process seeded the database meanwhile");
        return Ok(None);
    }
    tracing::info!(
        scale,
        users = summary.users,
        products = summary.products,
        orders = summary.orders,
        order_items = summary.order_items,
        todos = summary.todos,
        elapsed_ms = start.elapsed().as_millis() as u64,
        "seeded the database"
    );
    Ok(Some(summary))
}

async fn existing_scale(db: &Db) -> Result<Option<i64>, DbError> {
    let sql = "SELECT scale FROM seed_info WHERE id = 1";
    let err = |e| DbError::new("seed.check", db.backend(), e);
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql)
            .fetch_optional(pool)
            .await
            .map_err(err),
        Db::Postgres(pool) => sqlx::query_scalar(sql)
            .fetch_optional(pool)
            .await
            .map_err(err),
    }
}

/// Writes `statements` in one transaction that holds the write lock from its start and checks
/// again that nobody seeded meanwhile (two processes, e.g. `targets ec` and `targets
/// distributed`, may start on one empty database at once). Returns whether it wrote.
async fn run_in_transaction(db: &Db, statements: Vec<String>) -> Result<bool, DbError> {
    let err = |e| DbError::new("seed.insert", db.backend(), e);
    let check = "SELECT scale FROM seed_info WHERE id = 1";
    match db {
        Db::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(err)?;
            let seeded: Option<i64> = sqlx::query_scalar(check)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
            if seeded.is_some() {
                return Ok(false);
            }
            for sql in statements {
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
            tx.commit().await.map_err(err)?;
            sqlx::query("ANALYZE").execute(pool).await.map_err(err)?;
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await.map_err(err)?;
            sqlx::query("LOCK TABLE seed_info IN ACCESS EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            let seeded: Option<i64> = sqlx::query_scalar(check)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
            if seeded.is_some() {
                return Ok(false);
            }
            for sql in statements {
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
            tx.commit().await.map_err(err)?;
            sqlx::query("ANALYZE").execute(pool).await.map_err(err)?;
        }
    }
    Ok(true)
}

/// Collects rows into multi-row INSERT statements.
struct Inserts {
    head: &'static str,
    current: String,
    rows: usize,
    done: Vec<String>,
}

impl Inserts {
    fn new(head: &'static str) -> Self {
        Self {
            head,
            current: String::new(),
            rows: 0,
            done: Vec::new(),
        }
    }

    fn row(&mut self, values: std::fmt::Arguments<'_>) {
        if self.rows == 0 {
            self.current.push_str(self.head);
            self.current.push_str(" VALUES ");
        } else {
            self.current.push(',');
        }
        let _ = write!(self.current, "({values})");
        self.rows += 1;
        if self.rows == ROWS_PER_INSERT {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.rows > 0 {
            self.done.push(std::mem::take(&mut self.current));
            self.rows = 0;
        }
    }

    fn finish(mut self, out: &mut Vec<String>) {
        self.flush();
        out.append(&mut self.done);
    }
}

/// A quoted SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Builds every INSERT of a seed at `scale`, in dependency order.
pub fn build(scale: u32, backend: Backend) -> (Vec<String>, SeedSummary) {
    let scale64 = u64::from(scale);
    let users = USERS_PER_SCALE * scale64;
    let products = PRODUCTS_PER_SCALE * scale64;
    let orders = ORDERS_PER_SCALE * scale64;
    let mut rng = SplitMix64::new(0x5EED_0F7A_26E7_5EED);
    let mut out = Vec::new();

    let mut ins = Inserts::new("INSERT INTO users (id, name, email, created_at)");
    for id in 1..=users {
        let first = rng.pick(&FIRST_NAMES);
        let last = rng.pick(&LAST_NAMES);
        let name = format!("{first} {last}");
        let email = format!("user{id}@example.test");
        let created = timestamp(&mut rng);
        ins.row(format_args!(
            "{id},{},{},{}",
            lit(&name),
            lit(&email),
            lit(&created)
        ));
    }
    ins.finish(&mut out);

    let mut prices = Vec::with_capacity(products as usize);
    let mut ins = Inserts::new(
        "INSERT INTO products (id, name, category, price, description, stock, created_at)",
    );
    for id in 1..=products {
        let category = CATEGORIES[(id % CATEGORIES.len() as u64) as usize];
        let name = format!(
            "{} {} {}",
            rng.pick(&ADJECTIVES),
            rng.pick(&NOUNS),
            100 + rng.below(900)
        );
        let price = (100 + rng.below(99_900)) as f64 / 100.0;
        prices.push(price);
        let words = 8 + rng.below(16);
        let description = (0..words)
            .map(|_| rng.pick(&WORDS))
            .collect::<Vec<_>>()
            .join(" ");
        let stock = rng.below(500);
        let created = timestamp(&mut rng);
        ins.row(format_args!(
            "{id},{},{},{price:.2},{},{stock},{}",
            lit(&name),
            lit(category),
            lit(&description),
            lit(&created)
        ));
    }
    ins.finish(&mut out);

    let mut order_rows =
        Inserts::new("INSERT INTO orders (id, user_id, status, total, created_at)");
    let mut item_rows =
        Inserts::new("INSERT INTO order_items (id, order_id, product_id, quantity, unit_price)");
    let mut item_id = 0u64;
    for id in 1..=orders {
        let user_id = 1 + rng.below(users);
        let status = rng.pick(&STATUSES);
        let items = 1 + rng.below(5);
        let mut total = 0.0;
        for _ in 0..items {
            item_id += 1;
            let product_id = 1 + rng.below(products);
            let quantity = 1 + rng.below(4);
            let unit_price = prices[(product_id - 1) as usize];
            total += unit_price * quantity as f64;
            item_rows.row(format_args!(
                "{item_id},{id},{product_id},{quantity},{unit_price:.2}"
            ));
        }
        let created = timestamp(&mut rng);
        order_rows.row(format_args!(
            "{id},{user_id},{},{total:.2},{}",
            lit(status),
            lit(&created)
        ));
    }
    order_rows.finish(&mut out);
    item_rows.finish(&mut out);

    let todos = TODOS_PER_SCALE * scale64;
    let mut ins = Inserts::new(
        "INSERT INTO todos (id, title, description, completed, created_at, updated_at)",
    );
    for n in 1..=todos {
        let title = format!(
            "{} the {} {}",
            rng.pick(&TODO_VERBS),
            rng.pick(&NOUNS).to_lowercase(),
            n
        );
        let description = if rng.below(3) == 0 {
            "NULL".to_owned()
        } else {
            let words = 4 + rng.below(12);
            lit(&(0..words)
                .map(|_| rng.pick(&WORDS))
                .collect::<Vec<_>>()
                .join(" "))
        };
        let completed = if rng.below(10) < 4 { "TRUE" } else { "FALSE" };
        // Ten minutes apart, newest (todo 1) at 2025-01-01T00:00:00Z.
        let created = todo_time(n * 600);
        let updated = if completed == "TRUE" {
            todo_time(n * 600 - rng.below(600))
        } else {
            created.clone()
        };
        ins.row(format_args!(
            "{},{},{description},{completed},{},{}",
            lit(&todo_id(n)),
            lit(&title),
            lit(&created),
            lit(&updated)
        ));
    }
    ins.finish(&mut out);

    let seeded_at = "CURRENT_TIMESTAMP";
    let seeded_at = match backend {
        Backend::Sqlite => seeded_at.to_owned(),
        Backend::Postgres => format!("CAST({seeded_at} AS TEXT)"),
    };
    out.push(format!(
        "INSERT INTO seed_info (id, scale, seeded_at) VALUES (1, {scale}, {seeded_at})"
    ));
    let summary = SeedSummary {
        scale,
        users,
        products,
        orders,
        order_items: item_id,
        todos,
    };
    (out, summary)
}

/// The id of seeded todo `n` (1-based): `00000000-0000-4000-8000-` and `n` in 12 hex digits.
pub fn todo_id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// 2025-01-01T00:00:00Z minus `seconds_before`, in the todos' fixed-width form.
fn todo_time(seconds_before: u64) -> String {
    const NEWEST: i64 = 1_735_689_600;
    let at =
        chrono::DateTime::from_timestamp(NEWEST - seconds_before as i64, 0).unwrap_or_default();
    super::sqlite_time(&at)
}

/// An ISO-8601 UTC timestamp in 2023–2024.
fn timestamp(rng: &mut SplitMix64) -> String {
    // 2023-01-01 is day 19358 since the Unix epoch.
    let days = 19_358 + rng.below(731) as i64;
    let secs = rng.below(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_scale_same_rows() {
        let (a, sa) = build(1, Backend::Sqlite);
        let (b, sb) = build(1, Backend::Sqlite);
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        assert_eq!(sa.users, 200);
        assert_eq!(sa.orders, 5_000);
        assert!(sa.order_items >= 5_000);
        assert_eq!(sa.todos, 100);
        assert_eq!(todo_id(1), "00000000-0000-4000-8000-000000000001");
        assert_eq!(todo_time(600), "2024-12-31T23:50:00.000000Z");
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_358), (2023, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
