//! One hostile request and exactly what it must get: [`Row`] and its builder.

use super::*;

/// How a row's body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// With `Content-Length` (reqwest).
    Sized,
    /// `Transfer-Encoding: chunked`, so only the streamed size can trip the limit (raw TCP).
    Chunked,
    /// Declares this `Content-Length` and sends no body at all (raw TCP).
    DeclaredOnly(usize),
}

/// One hostile request and exactly what it must get.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) headers: Vec<(&'static str, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
    pub(crate) framing: Framing,
    pub(crate) status: u16,
    pub(crate) message: &'static str,
    /// For a 422: the fields `data.errors` must list, in order.
    pub(crate) fields: Vec<&'static str>,
}

pub(crate) fn row(name: impl Into<String>, method: Method, path: impl Into<String>) -> Row {
    Row {
        name: name.into(),
        method,
        path: path.into(),
        headers: Vec::new(),
        body: Vec::new(),
        framing: Framing::Sized,
        status: 0,
        message: "",
        fields: Vec::new(),
    }
}

impl Row {
    pub(crate) fn header(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name, value.as_ref().to_vec()));
        self
    }

    /// One `Authorization` header per call, so two calls send two headers.
    pub(crate) fn auth(self, value: impl AsRef<[u8]>) -> Self {
        self.header("authorization", value)
    }

    pub(crate) fn bearer(self, token: &str) -> Self {
        self.auth(format!("Bearer {token}"))
    }

    /// `body` with `Content-Type: application/json`.
    pub(crate) fn json(self, body: impl Into<Vec<u8>>) -> Self {
        self.header("content-type", "application/json").raw(body)
    }

    /// `body` as it is, with no `Content-Type` added.
    pub(crate) fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub(crate) fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    pub(crate) fn expect(mut self, status: u16, message: &'static str) -> Self {
        self.status = status;
        self.message = message;
        self
    }

    /// A 422 `Invalid input` listing exactly `fields`.
    pub(crate) fn invalid(self, fields: &[&'static str]) -> Self {
        let mut row = self.expect(422, INVALID);
        row.fields = fields.to_vec();
        row
    }
}
