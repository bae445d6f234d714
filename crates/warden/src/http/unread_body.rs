//! Chunked request bodies left unread.
//!
//! A handler that answers without reading a chunked body (a route without a body, a 401 before
//! the body) leaves actix draining it after the answer for as long as the client keeps sending,
//! with no timer. The middleware watches such a body and, when it was not read to its end,
//! stops reading the connection ([`Connection::stop_reading`]), so it closes after the answer.
//! A body the handler read keeps the connection alive as usual. An unread body usually counts
//! as unread even when it was complete (actix calls the handler before it parses the chunks
//! that follow the head), so such a client reconnects: a small price for a rare request.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_util::{FutureExt, Stream, StreamExt};

use super::Connection;

type BoxedBody = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// A request's chunked body, shared by the handler (through [`Watched`]) and the middleware.
pub struct UnreadBody {
    connection: Connection,
    payload: Rc<RefCell<Payload>>,
    finished: Rc<Cell<bool>>,
}

impl std::fmt::Debug for UnreadBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnreadBody")
            .field("finished", &self.finished.get())
            .finish_non_exhaustive()
    }
}

impl UnreadBody {
    /// Watches `req`'s body if it is chunked (actix itself closes a connection whose
    /// `Content-Length` body was left unread).
    pub fn watch(req: &mut ServiceRequest) -> Option<Self> {
        if !req.headers().contains_key(header::TRANSFER_ENCODING) {
            return None;
        }
        let connection = Connection::of(req.request())?;
        let finished = Rc::new(Cell::new(false));
        let payload = Rc::new(RefCell::new(req.take_payload()));
        let watched: BoxedBody = Box::pin(Watched {
            inner: payload.clone(),
            finished: finished.clone(),
        });
        req.set_payload(Payload::from(watched));
        Some(Self {
            connection,
            payload,
            finished,
        })
    }

    /// After the handler: if the body was not read to its end, discards what has already
    /// arrived; if that is not all of it, ends the connection after the answer.
    pub fn settle(self) {
        if self.finished.get() {
            return;
        }
        let mut payload = self.payload.borrow_mut();
        loop {
            match payload.next().now_or_never() {
                Some(Some(Ok(_))) => continue,
                Some(None) => return,
                Some(Some(Err(_))) | None => break,
            }
        }
        tracing::debug!("chunked body left unread; closing the connection after the answer");
        self.connection.stop_reading();
    }
}

/// What the handler reads: the shared body, noting when it ends.
struct Watched {
    inner: Rc<RefCell<Payload>>,
    finished: Rc<Cell<bool>>,
}

impl Stream for Watched {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.inner.borrow_mut().poll_next_unpin(cx);
        if let Poll::Ready(None) = next {
            self.finished.set(true);
        }
        next
    }
}
