# Release image of the warden binary (no libpq, no OpenSSL: rustls and a bundled SQLite).
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p warden

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/warden --create-home warden \
 && install -d -m 0700 -o warden -g warden /var/lib/warden/data
COPY --from=build /src/target/release/warden /usr/local/bin/warden
USER warden
WORKDIR /var/lib/warden
ENV WARDEN_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["warden"]
CMD ["serve"]
