//! The TCP connection under a request, so that a handler can stop it being read.
//!
//! actix keeps a connection open for as long as a chunked request body is still arriving, even
//! after the answer and with `Connection: close` (it drains the body, with no timer). A 408 for
//! a slow body must really end the connection, so the read side is shut down: actix then sees
//! the end of the stream, writes the answer and closes.

use std::any::Any;
use std::net::Shutdown;

use actix_web::dev::Extensions;
use actix_web::HttpRequest;

/// A second handle on a connection's socket (one more descriptor per open connection), kept in
/// the connection's data by [`Connection::on_connect`].
#[derive(Debug)]
pub struct Connection(socket2::Socket);

impl Connection {
    /// For `HttpServer::on_connect`: remembers the connection's socket.
    pub fn on_connect(conn: &dyn Any, data: &mut Extensions) {
        let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        match socket2::SockRef::from(tcp).try_clone() {
            Ok(socket) => {
                data.insert(Self(socket));
            }
            Err(error) => tracing::warn!(error = %error, "cannot keep a handle on a connection"),
        }
    }

    /// Stops reading `req`'s connection: whatever the client still sends is ignored, and the
    /// connection closes once the answer is written.
    pub fn stop_reading(req: &HttpRequest) {
        if let Some(connection) = req.conn_data::<Self>() {
            if let Err(error) = connection.0.shutdown(Shutdown::Read) {
                tracing::debug!(error = %error, "cannot shut the connection's read side");
            }
        }
    }
}
