//! The running service: HTTP server plus outbox worker, built from a [`Config`].

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tokio::sync::Notify;

use crate::http::{
    over_limit, request_context, route_not_found, BodyTimeout, Connection, ConnectionLimit,
};
use crate::observability::metrics::{Metrics, TimedMailer};
use crate::routes;
use crate::run::config::Config;
use crate::run::public_url::PublicUrl;
use crate::run::services::{Ports, Services};
use crate::run::state::AppState;
use crate::workers::after_commit::{AfterCommit, WebhookEndpoints};
use crate::workers::background::Background;
use crate::workers::{audit_retention, jobs, lifter, outbox, ssf, webhooks};

/// Connections the operations listener holds at once: probes and scrapers, not the public.
const OPS_MAX_CONNECTIONS: usize = 64;

/// How long a graceful stop lets in-flight requests finish, in seconds.
const SHUTDOWN_SECONDS: u64 = 30;

/// A bound, not yet awaited, server. Binding port 0 gives tests a free port.
pub struct Application {
    port: u16,
    server: Server,
    /// The operations listener's port and server, when `WARDEN_OPS_ADDR` is set.
    ops: Option<(u16, Server)>,
    worker: Background,
    lifter: Background,
    webhook_worker: Background,
    ssf_worker: Background,
    jobs: Background,
    /// With `WARDEN_AUDIT_RETENTION_DAYS` set.
    audit_retention: Option<Background>,
    services: Services,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("ops_port", &self.ops_port())
            .finish_non_exhaustive()
    }
}

pub use crate::run::compose::open;

impl Application {
    /// # Errors
    /// As [`open`], or when the address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (_store, ports) = open(&config).await?;
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
        let worker = outbox::spawn(
            services.worker_deliver.clone(),
            wakeup.clone(),
            config.worker_settings(),
            metrics.clone(),
        );
        if config.webhooks.allow_private {
            tracing::warn!(
                "WARDEN_WEBHOOK_ALLOW_PRIVATE is on: webhooks may use plain http and reach \
                 private, loopback and link-local addresses (for local development only)"
            );
        }
        let webhook_wakeup = Arc::new(Notify::new());
        let endpoints = WebhookEndpoints::default();
        let webhook_worker = webhooks::spawn(
            services.deliver_webhooks.clone(),
            webhook_wakeup.clone(),
            endpoints.clone(),
            config.outbox_poll,
            config.worker_settings().retention,
        );
        // What follows every committed change, whichever entry point made it.
        let ssf_wakeup = Arc::new(Notify::new());
        let after_commit = AfterCommit::wake(wakeup, webhook_wakeup, endpoints, metrics.clone())
            .with_ssf(ssf_wakeup.clone());
        let lifter = lifter::spawn(
            services.lift.clone(),
            config.lift_poll,
            after_commit.clone(),
        );
        let jobs = jobs::spawn(services.bulk.clone(), config.job_poll, after_commit.clone());
        let audit_retention = config.audit_retention_days.map(|days| {
            audit_retention::spawn(
                services.export_audit.clone(),
                chrono::TimeDelta::days(i64::from(days)),
                audit_retention::EVERY,
            )
        });
        let listener = TcpListener::bind(config.addr)?;
        let bound = listener.local_addr()?;
        let port = bound.port();
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| PublicUrl::of_listener(bound));
        let ssf_worker = ssf::spawn(
            services.ssf.clone(),
            public_url.clone(),
            ssf_wakeup,
            crate::workers::ssf::poll_every(config.outbox_poll),
        );
        let metrics_data = web::Data::new(metrics.clone());
        let state = web::Data::new(AppState {
            services: services.clone(),
            metrics,
            after_commit,
            public_url,
        });
        let body_timeout = BodyTimeout(config.body_timeout);
        let separate_ops = config.ops_addr.is_some();
        let trusted_proxies = web::Data::new(config.trusted_proxies.clone());
        let workers = config.http_worker_threads();
        let max_connections = crate::run::open_files::connections_per_worker(
            config.max_connections,
            workers,
            crate::run::open_files::raise_limit(),
        );
        if max_connections < config.max_connections {
            tracing::warn!(
                wanted = config.max_connections,
                allowed = max_connections,
                "WARDEN_MAX_CONNECTIONS lowered to what the open-file limit (ulimit -n) carries"
            );
        }
        let limit = ConnectionLimit::new(
            config.max_connections_per_ip,
            config.trusted_proxies.clone(),
        );
        let (public_state, public_metrics) = (state.clone(), metrics_data.clone());
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(over_limit))
                .wrap(from_fn(request_context))
                .app_data(public_state.clone())
                .app_data(public_metrics.clone())
                .app_data(body_timeout)
                .app_data(trusted_proxies.clone())
                .configure(if separate_ops {
                    routes::configure_public
                } else {
                    routes::configure
                })
                .default_service(web::to(route_not_found))
        })
        .on_connect(move |conn, data| {
            Connection::on_connect(conn, data);
            limit.on_connect(conn, data);
        })
        .listen(listener)?
        .max_connections(max_connections)
        .client_request_timeout(config.header_timeout)
        .client_disconnect_timeout(config.disconnect_timeout)
        .shutdown_timeout(SHUTDOWN_SECONDS);
        server = server.workers(workers);
        let ops = match config.ops_addr {
            None => None,
            Some(addr) => {
                let listener = TcpListener::bind(addr)?;
                let ops_port = listener.local_addr()?.port();
                // Its own worker and connection budget: a public listener full of slow clients
                // does not stop the probes and the scrape.
                let server = HttpServer::new(move || {
                    App::new()
                        .wrap(from_fn(request_context))
                        .app_data(state.clone())
                        .app_data(metrics_data.clone())
                        .app_data(body_timeout)
                        .configure(routes::configure_ops)
                        .default_service(web::to(route_not_found))
                })
                .on_connect(Connection::on_connect)
                .listen(listener)?
                .workers(1)
                .max_connections(OPS_MAX_CONNECTIONS)
                .client_request_timeout(config.header_timeout)
                .client_disconnect_timeout(config.disconnect_timeout)
                .shutdown_timeout(SHUTDOWN_SECONDS)
                .run();
                Some((ops_port, server))
            }
        };
        Ok(Self {
            port,
            server: server.run(),
            ops,
            worker,
            lifter,
            webhook_worker,
            ssf_worker,
            jobs,
            audit_retention,
            services,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The operations listener's port, when `WARDEN_OPS_ADDR` is set.
    pub fn ops_port(&self) -> Option<u16> {
        self.ops.as_ref().map(|(port, _)| *port)
    }

    /// The use cases this server runs (for tests and embedding).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Stops the server gracefully when asked (SIGTERM and SIGINT do the same); the operations
    /// listener follows.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, then lets the worker finish its round.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let ops = self.ops.map(|(_, server)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let result = self.server.await;
        if let Some((handle, task)) = ops {
            handle.stop(true).await;
            if let Ok(Err(error)) = task.await {
                tracing::warn!(error = %error, "the operations listener failed");
            }
        }
        self.lifter.stop().await;
        self.jobs.stop().await;
        if let Some(retention) = self.audit_retention {
            retention.stop().await;
        }
        self.worker.stop().await;
        self.webhook_worker.stop().await;
        self.ssf_worker.stop().await;
        result
    }
}
