//! Target services (fixtures) for the load tester: the EC app (`ec`, port 5001) and the
//! distributed service (`distributed`, port 5002), with deliberate performance problems; the
//! Todo API (`todo`, port 8000), a well-instrumented CRUD service; all on embedded SQLite or
//! PostgreSQL, with OpenTelemetry traces, metrics and logs; and the chaos service (`chaos`, port
//! 8001) over Redis or an embedded store, whose faults are switched on over HTTP.
//!
//! Each service is a library function returning its router ([`ec::app`], [`distributed::app`],
//! [`todo::app`], [`chaos::app`]); [`Lab::start`] opens the database and serves them all, which
//! is what the load tester and the tests call. Telemetry ([`telemetry::init`]) is separate and
//! optional.

pub mod chaos;
pub mod db;
pub mod distributed;
pub mod ec;
pub mod error;
pub mod exposition;
mod health;
pub mod http;
pub mod lab;
pub mod metrics;
pub mod operations;
pub mod query_counter;
pub mod service;
pub mod telemetry;
pub mod todo;

pub use error::{Error, bind};
pub use lab::{Lab, LabConfig, open_database, spawn_server};
pub use service::Service;
