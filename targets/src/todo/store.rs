//! The statements of the Todo API and the business steps around them. Each step
//! (`todo.list`, `todo.get`, `todo.create`, `todo.update`, `todo.delete`) runs in its own span,
//! the parent of the `db.query` spans of its statements; a failed step marks its span as an
//! error.

use std::future::Future;

use chrono::{DateTime, SubsecRound, Utc};
use tracing::Instrument;
use tracing::field::Empty;

use super::model::{Changes, ListQuery, Todo};
use crate::db::{Db, DbError, Param, Statement};
use crate::query_counter::QueryCounter;
use crate::service::Service;

macro_rules! select_pg {
    ($rest:literal) => {
        concat!(
            "SELECT id::text AS id, title, description, completed, created_at, updated_at FROM todos ",
            $rest
        )
    };
}

macro_rules! select_sqlite {
    ($rest:literal) => {
        concat!(
            "SELECT id, title, description, completed, created_at, updated_at FROM todos ",
            $rest
        )
    };
}

const LIST: Statement = Statement::per_backend(
    "todos.list",
    select_sqlite!("ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"),
    select_pg!("ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"),
);
const LIST_BY_STATE: Statement = Statement::per_backend(
    "todos.list_by_completed",
    select_sqlite!("WHERE completed = $3 ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"),
    select_pg!("WHERE completed = $3 ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"),
);
const COUNT: Statement = Statement::same("todos.count", "SELECT COUNT(*) AS count FROM todos");
const COUNT_BY_STATE: Statement = Statement::same(
    "todos.count_by_completed",
    "SELECT COUNT(*) AS count FROM todos WHERE completed = $1",
);
const GET: Statement = Statement::per_backend(
    "todos.get",
    select_sqlite!("WHERE id = $1"),
    select_pg!("WHERE id = $1::uuid"),
);
const INSERT: Statement = Statement::per_backend(
    "todos.insert",
    "INSERT INTO todos (id, title, description, completed, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $5) \
     RETURNING id, title, description, completed, created_at, updated_at",
    "INSERT INTO todos (id, title, description, completed, created_at, updated_at) \
     VALUES ($1::uuid, $2, $3, $4, $5, $5) \
     RETURNING id::text AS id, title, description, completed, created_at, updated_at",
);
/// One statement for PUT and PATCH: each `CASE` flag says whether the field is set.
const UPDATE: Statement = Statement::per_backend(
    "todos.update",
    "UPDATE todos SET \
     title = CASE WHEN $2 THEN $3 ELSE title END, \
     description = CASE WHEN $4 THEN $5 ELSE description END, \
     completed = CASE WHEN $6 THEN $7 ELSE completed END, \
     updated_at = $8 \
     WHERE id = $1 \
     RETURNING id, title, description, completed, created_at, updated_at",
    "UPDATE todos SET \
     title = CASE WHEN $2 THEN $3 ELSE title END, \
     description = CASE WHEN $4 THEN $5 ELSE description END, \
     completed = CASE WHEN $6 THEN $7 ELSE completed END, \
     updated_at = $8 \
     WHERE id = $1::uuid \
     RETURNING id::text AS id, title, description, completed, created_at, updated_at",
);
const DELETE: Statement = Statement::per_backend(
    "todos.delete",
    "DELETE FROM todos WHERE id = $1",
    "DELETE FROM todos WHERE id = $1::uuid",
);
const STATS: Statement = Statement::same(
    "todos.stats",
    "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN completed THEN 1 ELSE 0 END), 0) AS completed FROM todos",
);

#[derive(Debug, sqlx::FromRow)]
struct CountRow {
    count: i64,
}

/// How many todos there are and how many are completed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Totals {
    /// All todos.
    pub total: i64,
    /// Completed todos.
    pub completed: i64,
}

/// One page of the list.
#[derive(Clone, Debug)]
pub struct Page {
    /// The todos, newest first.
    pub items: Vec<Todo>,
    /// Todos matching the filter, on every page.
    pub total: i64,
}

/// The current instant at the database's precision (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Runs `work` in the business span `name`, marking the span on failure.
async fn step<T>(
    name: &'static str,
    id: Option<&str>,
    work: impl Future<Output = Result<T, DbError>>,
) -> Result<T, DbError> {
    let span = crate::service_span!(
        Service::Todo,
        "todo.step",
        otel.name = name,
        otel.kind = "internal",
        todo.id = Empty,
        otel.status_code = Empty,
        otel.status_message = Empty,
    );
    if let Some(id) = id {
        span.record("todo.id", id);
    }
    let result = work.instrument(span.clone()).await;
    if let Err(e) = &result {
        span.record("otel.status_code", "ERROR");
        span.record("otel.status_message", e.to_string());
    }
    result
}

/// `todo.list`: one page and the matching total.
pub async fn list(db: &Db, queries: &QueryCounter, query: ListQuery) -> Result<Page, DbError> {
    step("todo.list", None, async {
        let page = [Param::Int(query.limit), Param::Int(query.skip)];
        let (items, count): (Vec<Todo>, CountRow) = match query.completed {
            None => (
                db.fetch_all(queries, &LIST, &page).await?,
                db.fetch_one(queries, &COUNT, &[]).await?,
            ),
            Some(state) => {
                let [limit, skip] = page;
                (
                    db.fetch_all(queries, &LIST_BY_STATE, &[limit, skip, Param::Bool(state)])
                        .await?,
                    db.fetch_one(queries, &COUNT_BY_STATE, &[Param::Bool(state)])
                        .await?,
                )
            }
        };
        Ok(Page {
            items,
            total: count.count,
        })
    })
    .await
}

/// `todo.get`: the todo `id`, if it exists.
pub async fn get(db: &Db, queries: &QueryCounter, id: &str) -> Result<Option<Todo>, DbError> {
    step("todo.get", Some(id), async {
        db.fetch_optional(queries, &GET, &[Param::Text(id.to_owned())])
            .await
    })
    .await
}

/// `todo.create`: inserts a todo with a new id; `changes` must be complete (as checked for
/// create).
pub async fn create(db: &Db, queries: &QueryCounter, changes: Changes) -> Result<Todo, DbError> {
    let id = super::model::new_id();
    step("todo.create", Some(&id), async {
        db.fetch_one(
            queries,
            &INSERT,
            &[
                Param::Text(id.clone()),
                Param::Text(changes.title.unwrap_or_default()),
                Param::OptText(changes.description.flatten()),
                Param::Bool(changes.completed.unwrap_or(false)),
                Param::Time(now()),
            ],
        )
        .await
    })
    .await
}

/// `todo.update`: applies `changes` to the todo `id`; `None` when it does not exist.
pub async fn update(
    db: &Db,
    queries: &QueryCounter,
    id: &str,
    changes: Changes,
) -> Result<Option<Todo>, DbError> {
    step("todo.update", Some(id), async {
        db.fetch_optional(
            queries,
            &UPDATE,
            &[
                Param::Text(id.to_owned()),
                Param::Bool(changes.title.is_some()),
                Param::Text(changes.title.unwrap_or_default()),
                Param::Bool(changes.description.is_some()),
                Param::OptText(changes.description.flatten()),
                Param::Bool(changes.completed.is_some()),
                Param::Bool(changes.completed.unwrap_or(false)),
                Param::Time(now()),
            ],
        )
        .await
    })
    .await
}

/// `todo.delete`: whether the todo `id` existed.
pub async fn delete(db: &Db, queries: &QueryCounter, id: &str) -> Result<bool, DbError> {
    step("todo.delete", Some(id), async {
        Ok(db
            .execute(queries, &DELETE, &[Param::Text(id.to_owned())])
            .await?
            > 0)
    })
    .await
}

/// How many todos exist and are completed (for the gauges).
pub async fn totals(db: &Db, queries: &QueryCounter) -> Result<Totals, DbError> {
    db.fetch_one(queries, &STATS, &[]).await
}

/// Statements of the list, for query-plan checks: unfiltered and filtered.
pub fn list_statements() -> [(Statement, Vec<Param>); 2] {
    [
        (LIST, vec![Param::Int(20), Param::Int(0)]),
        (
            LIST_BY_STATE,
            vec![Param::Int(20), Param::Int(0), Param::Bool(true)],
        ),
    ]
}
