# Everyday commands. The README's two commands (`cargo run`, `cargo test`) need nothing else.
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test test-postgres lint fmt ci bench bench-bulk bench-ssf screenshots

run: ## Serve on the embedded default (SQLite file and .eml mail under ./data)
	cargo run

test: ## The whole suite on embedded SQLite
	cargo test

test-postgres: ## The same suite against PostgreSQL ($(PG_URL))
	WARDEN_TEST_DATABASE_URL=$(PG_URL) cargo test

lint: ## Formatting check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

ci: ## What CI runs
	bash .ci/run

bench: ## Warden vs pgbench on the same statements, plus SQLite (docs/benchmarks.md); ~5 min after the build
	bash bench/run.sh

bench-bulk: ## How long a bulk deactivation of 10,000 accounts takes, SQLite and PostgreSQL; ~1 min after the build
	bash bench/bulk.sh

bench-ssf: ## Time from a deactivation's 200 to its SET at a local push receiver (p50, p99); ~1 min after the build
	bash bench/ssf.sh

screenshots: ## The console's screenshots in docs/console/ (needs chromium and chromium-driver)
	WARDEN_CONSOLE_SCREENSHOTS=$(CURDIR)/docs/console cargo test -p warden --test api \
		console::an_admin_finds_a_user_deactivates_with_a_reason_and_reactivates -- --exact
