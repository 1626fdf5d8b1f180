//! The whole lab in one call: one database, the EC app, the distributed service and the Todo
//! API on their listeners, the chaos service on its store, and a handle to stop them. This is
//! what the load tester's one-command start and
//! the tests use.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chaos::{self, ChaosConfig, ChaosState};
use crate::db::{self, Db};
use crate::distributed::{self, DistributedState};
use crate::ec::{self, ClientConfig, DistributedClient, EcState};
use crate::error::{Error, bind};
use crate::todo::{self, TodoState};

/// What [`Lab::start`] starts.
#[derive(Clone, Debug)]
pub struct LabConfig {
    /// Where the default SQLite file (`targets.db`) lives; created when missing.
    pub data_dir: PathBuf,
    /// EC listen address (port 0 picks a free port).
    pub ec_addr: SocketAddr,
    /// Distributed-service listen address (port 0 picks a free port).
    pub distributed_addr: SocketAddr,
    /// Todo API listen address (port 0 picks a free port).
    pub todo_addr: SocketAddr,
    /// Seed size on first start (see [`db::seed`]).
    pub scale: u32,
    /// `sqlite://…` or `postgres://…`; `None` uses the SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Chaos-service listen address (port 0 picks a free port).
    pub chaos_addr: SocketAddr,
    /// `redis://…` for the chaos service; `None` uses its embedded store.
    pub redis_url: Option<String>,
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            ec_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 5001)),
            distributed_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 5002)),
            todo_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8000)),
            scale: db::seed::DEFAULT_SCALE,
            database_url: None,
            chaos_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8001)),
            redis_url: None,
        }
    }
}

impl LabConfig {
    /// The database URL this config resolves to.
    pub fn resolved_database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| db::sqlite::default_url(&self.data_dir))
    }
}

/// Running EC, distributed and Todo services.
#[derive(Debug)]
pub struct Lab {
    ec_addr: SocketAddr,
    distributed_addr: SocketAddr,
    todo_addr: SocketAddr,
    chaos_addr: SocketAddr,
    chaos: ChaosState,
    db: Db,
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<std::io::Result<()>>)>,
}

/// Opens `url` (creating and seeding it at `scale` on first use).
pub async fn open_database(url: &str, scale: u32) -> Result<Db, Error> {
    Ok(Db::open(url, scale).await?)
}

impl Lab {
    /// Binds every listener (failing fast on a busy port), opens, migrates and seeds the
    /// database, and serves the services until [`Lab::shutdown`]. An unreachable Redis is
    /// not fatal: the chaos service starts and its `/health` answers 503 until Redis is back.
    pub async fn start(config: LabConfig) -> Result<Self, Error> {
        let ec_listener = bind(config.ec_addr).await?;
        let distributed_listener = bind(config.distributed_addr).await?;
        let todo_listener = bind(config.todo_addr).await?;
        let chaos_listener = bind(config.chaos_addr).await?;
        let chaos = ChaosState::new(&ChaosConfig {
            redis_url: config.redis_url.clone(),
            ..ChaosConfig::default()
        })?;
        let db = open_database(&config.resolved_database_url(), config.scale).await?;
        chaos.check().await;
        Self::serve(
            db,
            ec_listener,
            distributed_listener,
            todo_listener,
            (chaos_listener, chaos),
        )
    }

    /// Serves the services over an opened database and a chaos state on already bound
    /// listeners.
    pub fn serve(
        db: Db,
        ec_listener: tokio::net::TcpListener,
        distributed_listener: tokio::net::TcpListener,
        todo_listener: tokio::net::TcpListener,
        (chaos_listener, chaos): (tokio::net::TcpListener, ChaosState),
    ) -> Result<Self, Error> {
        let ec_addr = local_addr(&ec_listener)?;
        let distributed_addr = local_addr(&distributed_listener)?;
        let todo_addr = local_addr(&todo_listener)?;
        let chaos_addr = local_addr(&chaos_listener)?;
        let client =
            DistributedClient::new(ClientConfig::new(format!("http://{distributed_addr}")))?;
        let (stop, _) = watch::channel(false);
        let tasks = vec![
            (
                "distributed",
                spawn_server(
                    distributed_listener,
                    distributed::app(DistributedState::new(db.clone())),
                    &stop,
                ),
            ),
            (
                "ec",
                spawn_server(
                    ec_listener,
                    ec::app(EcState::new(db.clone(), client)),
                    &stop,
                ),
            ),
            (
                "todo",
                spawn_server(todo_listener, todo::app(TodoState::new(db.clone())), &stop),
            ),
            (
                "chaos",
                spawn_server(chaos_listener, chaos::app(chaos.clone()), &stop),
            ),
        ];
        tracing::info!(%ec_addr, %distributed_addr, %todo_addr, %chaos_addr, backend = db.backend().name(), "lab started");
        Ok(Self {
            ec_addr,
            distributed_addr,
            todo_addr,
            chaos_addr,
            chaos,
            db,
            stop,
            tasks,
        })
    }

    /// Where the EC app listens.
    pub fn ec_addr(&self) -> SocketAddr {
        self.ec_addr
    }

    /// Where the distributed service listens.
    pub fn distributed_addr(&self) -> SocketAddr {
        self.distributed_addr
    }

    /// Where the Todo API listens.
    pub fn todo_addr(&self) -> SocketAddr {
        self.todo_addr
    }

    /// `http://` base URL of the Todo API.
    pub fn todo_url(&self) -> String {
        format!("http://{}", self.todo_addr)
    }

    /// Where the chaos service listens.
    pub fn chaos_addr(&self) -> SocketAddr {
        self.chaos_addr
    }

    /// `http://` base URL of the chaos service.
    pub fn chaos_url(&self) -> String {
        format!("http://{}", self.chaos_addr)
    }

    /// `http://` base URL of the EC app.
    pub fn ec_url(&self) -> String {
        format!("http://{}", self.ec_addr)
    }

    /// `http://` base URL of the distributed service.
    pub fn distributed_url(&self) -> String {
        format!("http://{}", self.distributed_addr)
    }

    /// The shared database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The chaos service's state (its store and faults).
    pub fn chaos(&self) -> &ChaosState {
        &self.chaos
    }

    /// Ends the chaos faults (releasing requests held by a hang), stops accepting, lets
    /// in-flight requests finish, and closes the database.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.chaos.faults().stop_all();
        let _ = self.stop.send(true);
        let mut first_error = None;
        for (service, task) in self.tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(source)) => {
                    first_error.get_or_insert(Error::Serve { service, source });
                }
                Err(join) => {
                    first_error.get_or_insert(Error::Serve {
                        service,
                        source: std::io::Error::other(join.to_string()),
                    });
                }
            }
        }
        self.db.close().await;
        first_error.map_or(Ok(()), Err)
    }
}

fn local_addr(listener: &tokio::net::TcpListener) -> Result<SocketAddr, Error> {
    listener.local_addr().map_err(|source| Error::Bind {
        addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        source,
    })
}

/// Spawns `router` on `listener`, stopping gracefully when `stop` turns true.
pub fn spawn_server(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    stop: &watch::Sender<bool>,
) -> JoinHandle<std::io::Result<()>> {
    let mut rx = stop.subscribe();
    tokio::spawn(crate::http::serve(listener, router, async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }))
}
