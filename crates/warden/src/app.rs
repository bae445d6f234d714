//! The running service: HTTP server plus outbox worker, built from a [`Config`].

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tokio::sync::Notify;
use warden_domain::use_cases::RetryPolicy;

use crate::adapters::{self, Store};
use crate::config::Config;
use crate::http::{request_context, route_not_found};
use crate::routes;
use crate::services::Services;
use crate::state::AppState;
use crate::worker::OutboxWorker;

/// A bound, not yet awaited, server. Binding port 0 gives tests a free port.
pub struct Application {
    port: u16,
    server: Server,
    worker: OutboxWorker,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Connects the store, applies migrations and builds every use case.
///
/// # Errors
/// When the database cannot be reached or migrated, or an adapter cannot be configured.
pub async fn open(config: &Config) -> anyhow::Result<(Store, Services)> {
    let store = Store::connect(config).await?;
    store.migrate().await?;
    let ports = adapters::ports(config, &store)?;
    Ok((store, Services::new(ports, RetryPolicy::default())))
}

impl Application {
    /// # Errors
    /// As [`open`], or when the address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (_store, services) = open(&config).await?;
        Self::start(&config, services)
    }

    /// Starts serving `services` on `config.addr`, with the outbox worker.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn start(config: &Config, services: Services) -> anyhow::Result<Self> {
        let wakeup = Arc::new(Notify::new());
        let worker =
            OutboxWorker::spawn(services.deliver.clone(), wakeup.clone(), config.outbox_poll);
        let state = web::Data::new(AppState {
            services,
            outbox_wakeup: wakeup,
        });
        let listener = TcpListener::bind(config.addr)?;
        let port = listener.local_addr()?.port();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(request_context))
                .app_data(state.clone())
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
        })
    }

    pub fn port(&self) -> u16 {
        self.port
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
