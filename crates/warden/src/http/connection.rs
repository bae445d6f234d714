//! The TCP connection under a request, so that a handler can stop it being read.
//!
//! actix keeps a connection open for as long as a chunked request body is still arriving, even
//! after the answer and with `Connection: close` (it drains the body, with no timer). A 408 for
//! a slow body must really end the connection, so the read side is shut down: actix then sees
//! the end of the stream, writes the answer and closes.

use std::any::Any;
use std::net::Shutdown;
use std::rc::Rc;

use actix_web::dev::Extensions;
use actix_web::HttpRequest;

/// A second handle on a connection's socket (one more descriptor per open connection), kept in
/// the connection's data by [`Connection::on_connect`].
#[derive(Debug, Clone)]
pub struct Connection(Rc<socket2::Socket>);

impl Connection {
    /// For `HttpServer::on_connect`: remembers the connection's socket.
    pub fn on_connect(conn: &dyn Any, data: &mut Extensions) {
        let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        match socket2::SockRef::from(tcp).try_clone() {
            Ok(socket) => {
                data.insert(Self(Rc::new(socket)));
            }
            Err(error) => tracing::warn!(error = %error, "cannot keep a handle on a connection"),
        }
    }

    /// The connection `req` arrived on (when the server was built with [`Self::on_connect`]).
    pub fn of(req: &HttpRequest) -> Option<Self> {
        req.conn_data::<Self>().cloned()
    }

    /// Stops reading the connection: whatever the client still sends is ignored, and the
    /// connection closes once the answer is written.
    pub fn stop_reading(&self) {
        if let Err(error) = self.0.shutdown(Shutdown::Read) {
            tracing::debug!(error = %error, "cannot shut the connection's read side");
        }
    }
}
