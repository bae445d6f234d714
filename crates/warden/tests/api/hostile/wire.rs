//! Sending a row over HTTP (reqwest, or raw TCP for framings reqwest will not produce).

use super::*;

// ---------------------------------------------------------------------------------------------
// Sending a row and judging the answer.

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

pub(crate) async fn send(app: &TestApp, row: &Row) -> Result<Reply, String> {
    if row.framing != Framing::Sized {
        return send_raw(app, row).await;
    }
    let mut request = app
        .client
        .request(row.method.clone(), app.url(&row.path))
        .timeout(Duration::from_secs(30))
        .body(row.body.clone());
    for (name, value) in &row.headers {
        let value = HeaderValue::from_bytes(value).map_err(|e| format!("header: {e}"))?;
        request = request.header(HeaderName::from_static(name), value);
    }
    let response = request.send().await.map_err(|e| format!("send: {e}"))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("read: {e}"))?
        .to_vec();
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// HTTP/1.1 by hand, for framings reqwest will not produce: a chunked body, or a declared
/// length with no body. The request is written while the answer is read, since the server may
/// answer (and stop reading) before the body is all sent.
pub(crate) async fn send_raw(app: &TestApp, row: &Row) -> Result<Reply, String> {
    let host = app.address.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&host)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut request = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
        row.method, row.path
    )
    .into_bytes();
    for (name, value) in &row.headers {
        request.extend_from_slice(name.as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    match row.framing {
        Framing::Chunked => {
            request.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for chunk in row.body.chunks(8 * 1024) {
                request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                request.extend_from_slice(chunk);
                request.extend_from_slice(b"\r\n");
            }
            request.extend_from_slice(b"0\r\n\r\n");
        }
        Framing::DeclaredOnly(length) => {
            request.extend_from_slice(format!("Content-Length: {length}\r\n\r\n").as_bytes());
        }
        Framing::Sized => unreachable!("sent by reqwest"),
    }
    let (mut reader, mut writer) = stream.into_split();
    // The writer is kept (not shut down) until the answer is in: a declared-only body must not
    // end early.
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let read = async {
        let mut buffer = Vec::new();
        let mut chunk = vec![0; 64 * 1024];
        loop {
            if let Some(reply) = parse_reply(&buffer)? {
                return Ok(reply);
            }
            match reader.read(&mut chunk).await {
                Ok(0) => return Err(format!("connection closed after {} bytes", buffer.len())),
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("read after {} bytes: {e}", buffer.len())),
            }
        }
    };
    let reply = tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .map_err(|_| "no answer within 30 s".to_owned())?;
    writing.abort();
    reply
}

/// A complete response in `buffer`, if there is one yet.
pub(crate) fn parse_reply(buffer: &[u8]) -> Result<Option<Reply>, String> {
    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buffer[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, Vec<u8>)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().as_bytes().to_vec()))
        .collect();
    let rest = &buffer[end + 4..];
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).to_ascii_lowercase())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        match dechunk(rest) {
            Some(body) => body,
            None => return Ok(None),
        }
    } else {
        let length: usize = find("content-length")
            .and_then(|v| v.parse().ok())
            .ok_or("a response with neither Content-Length nor chunks")?;
        if rest.len() < length {
            return Ok(None);
        }
        rest[..length].to_vec()
    };
    Ok(Some(Reply {
        status,
        headers,
        body,
    }))
}

pub(crate) fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        if rest.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
