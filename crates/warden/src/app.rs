//! The running service: HTTP server plus outbox worker, built from a [`Config`].

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use secrecy::ExposeSecret;
use tokio::sync::Notify;

use crate::adapters::{self, Store};
use crate::config::Config;
use crate::http::{request_context, route_not_found};
use crate::metrics::{Metrics, TimedMailer};
use crate::routes;
use crate::services::{Ports, Services};
use crate::state::AppState;
use crate::worker::OutboxWorker;

/// Connections of the outbox worker's own pool.
const WORKER_CONNECTIONS: usize = 2;

/// A bound, not yet awaited, server. Binding port 0 gives tests a free port.
pub struct Application {
    port: u16,
    server: Server,
    worker: OutboxWorker,
    services: Services,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Connects the store, applies migrations and builds every adapter.
///
/// # Errors
/// When the database cannot be reached or migrated, or an adapter cannot be configured.
pub async fn open(config: &Config) -> anyhow::Result<(Store, Ports)> {
    let store = Store::connect(config).await?;
    store.migrate().await?;
    let ports = adapters::ports(config, &store)?;
    Ok((store, ports))
}

impl Application {
    /// # Errors
    /// As [`open`], or when the address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (_store, mut ports) = open(&config).await?;
        if !config.database_url.expose_secret().contains(":memory:") {
            // The outbox worker gets a small pool of its own, so mail delivery never takes a
            // connection a request is waiting for (measured: see docs/benchmarks.md).
            ports.outbox = Store::connect_sized(&config, WORKER_CONNECTIONS)
                .await?
                .outbox();
        }
        Self::start(&config, ports)
    }

    /// Starts serving the use cases built on `ports` on `config.addr`, with the outbox worker.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn start(config: &Config, mut ports: Ports) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        ports.mailer = TimedMailer::wrap(ports.mailer, metrics.clone());
        let services = Services::new(ports, config.retry_policy());
        let wakeup = Arc::new(Notify::new());
        let worker = OutboxWorker::spawn(
            services.deliver.clone(),
            wakeup.clone(),
            config.worker_settings(),
            metrics.clone(),
        );
        let metrics_data = web::Data::new(metrics.clone());
        let state = web::Data::new(AppState {
            services: services.clone(),
            metrics,
            outbox_wakeup: wakeup,
        });
        let listener = TcpListener::bind(config.addr)?;
        let port = listener.local_addr()?.port();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(request_context))
                .app_data(state.clone())
                .app_data(metrics_data.clone())
                .configure(routes::configure)
                .default_service(web::to(route_not_found))
        })
        .listen(listener)?
        .shutdown_timeout(30);
        if config.http_workers > 0 {
            server = server.workers(config.http_workers);
        }
        Ok(Self {
            port,
            server: server.run(),
            worker,
            services,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The use cases this server runs (for tests and embedding).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Stops the server gracefully when asked (SIGTERM and SIGINT do the same).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, then lets the worker finish its round.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.worker.stop().await;
        result
    }
}
