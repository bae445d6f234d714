//! [`PgStore::with_thread_pools`]: a thread running a current-thread runtime (an actix-web
//! worker) queries on connections of its own, opened and driven on that thread, so a query never
//! needs another thread to wake up (docs/benchmarks.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use warden_postgres::PgStore;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Pings `store` from a new thread with a runtime of its own; the thread then waits at
/// `hold` (if any) before it ends, keeping its runtime, and so its connections, alive.
fn ping_on_a_worker_thread(
    store: PgStore,
    hold: Option<Arc<Barrier>>,
) -> std::thread::JoinHandle<bool> {
    std::thread::spawn(move || {
        let runtime = current_thread();
        let answered = runtime.block_on(store.ping()).is_ok();
        if let Some(hold) = hold {
            hold.wait();
            hold.wait();
        }
        answered
    })
}

#[test]
fn each_worker_thread_opens_and_drives_connections_of_its_own() {
    let Some(base) =
        common::database_url("each_worker_thread_opens_and_drives_connections_of_its_own")
    else {
        return;
    };
    // The runtime that connects and migrates, as `warden serve`'s main runtime does.
    let (main, schema, shared) = common::on_main_runtime(&base, 4, Duration::from_secs(5));
    let per_thread = shared.clone().with_thread_pools(2);
    // With the connecting runtime gone, a shared pool cannot open a connection any more (its
    // connections are driven there); a thread's own pool does not need it.
    main.shutdown_background();
    let shared_answered = ping_on_a_worker_thread(shared, None).join().unwrap();
    assert!(
        !shared_answered,
        "the shared pool opens connections on the connecting runtime"
    );

    let hold = Arc::new(Barrier::new(3));
    let workers: Vec<_> = (0..2)
        .map(|_| ping_on_a_worker_thread(per_thread.clone(), Some(hold.clone())))
        .collect();
    hold.wait();
    let sessions = current_thread().block_on(async {
        let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&schema.name()],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0)
    });
    hold.wait();
    for worker in workers {
        assert!(worker.join().unwrap(), "a worker thread's ping failed");
    }
    assert_eq!(sessions, 2, "one connection per worker thread, none shared");
}
