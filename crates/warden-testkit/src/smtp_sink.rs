//! A real SMTP server for tests: it listens on `127.0.0.1`, speaks just enough SMTP for lettre's
//! client (no TLS, no AUTH), and records every message it accepts.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use warden_testkit::smtp_sink::{ReplyMode, SmtpSink};
//!
//! let sink = SmtpSink::start().await?;
//! // ... point a mailer at sink.url() and send ...
//! let mails = sink.wait_for(1, Duration::from_secs(5)).await?;
//! assert_eq!(mails[0].header("Subject").as_deref(), Some("Hello"));
//! sink.set_reply_mode(ReplyMode::TransientFailure); // RCPT now answers 451
//! sink.stop().await; // connection refused from now on ...
//! sink.restart().await?; // ... and back on the same port
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio::task::{JoinHandle, JoinSet};

/// How the sink answers `RCPT TO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    /// `250`: messages are accepted and recorded.
    #[default]
    Accept,
    /// `451`: try again later.
    TransientFailure,
    /// `550`: mailbox unavailable, for good.
    PermanentFailure,
    /// Accepts the envelope and reads the whole message after `DATA`, then never answers (a
    /// server hanging at the worst moment); the message is not recorded.
    /// [`SmtpSink::wait_for_stalled`] sees it arrive.
    StallAfterData,
}

/// One message as the sink received it: the envelope and the raw DATA (dot-unstuffed, CRLF line
/// endings, without the terminating `.` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl ReceivedMail {
    /// The first header called `name` (case-insensitive), unfolded and trimmed. RFC 2047 encoded
    /// words (non-ASCII display names or subjects) are returned as they are, not decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(split_entity(&self.data).0, name)
    }

    /// The decoded `text/plain` part (or the body of a message with no Content-Type), with line
    /// endings turned into `\n`. Handles multipart nesting and 7bit/8bit, quoted-printable and
    /// base64 transfer encodings, and assumes UTF-8.
    pub fn text_part(&self) -> Option<String> {
        let (head, body) = split_entity(&self.data);
        find_part(head, body, "text/plain")
    }

    /// The decoded `text/html` part, as [`ReceivedMail::text_part`] does for text.
    pub fn html_part(&self) -> Option<String> {
        let (head, body) = split_entity(&self.data);
        find_part(head, body, "text/html")
    }
}

#[derive(Debug, Default)]
struct Shared {
    messages: Mutex<Vec<ReceivedMail>>,
    arrived: Notify,
    mode: Mutex<ReplyMode>,
    stalled: Mutex<usize>,
}

#[derive(Debug)]
struct Running {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// The SMTP server. Dropping it stops it.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    running: Mutex<Option<Running>>,
}

impl SmtpSink {
    /// Starts listening on a free port of `127.0.0.1`.
    ///
    /// # Errors
    /// When no socket can be bound.
    pub async fn start() -> anyhow::Result<Self> {
        let shared = Arc::default();
        let (addr, running) = listen(SocketAddr::from(([127, 0, 0, 1], 0)), &shared)?;
        Ok(Self {
            addr,
            shared,
            running: Mutex::new(Some(running)),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:PORT`, for `AsyncSmtpTransport::from_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.messages).clone()
    }

    /// Waits until at least `count` messages have arrived, and returns all of them.
    ///
    /// # Errors
    /// When fewer than `count` have arrived after `timeout`.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<ReceivedMail>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let messages = self.messages();
            if messages.len() >= count {
                return Ok(messages);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                anyhow::bail!(
                    "expected {count} message(s) within {timeout:?}, got {}",
                    self.messages().len()
                );
            }
        }
    }

    /// Waits until at least `count` messages have been read and left unanswered under
    /// [`ReplyMode::StallAfterData`].
    ///
    /// # Errors
    /// When fewer than `count` have stalled after `timeout`.
    pub async fn wait_for_stalled(&self, count: usize, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if *lock(&self.shared.stalled) >= count {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                anyhow::bail!("expected {count} stalled message(s) within {timeout:?}");
            }
        }
    }

    /// Sets how `RCPT TO` is answered from now on.
    pub fn set_reply_mode(&self, mode: ReplyMode) {
        *lock(&self.shared.mode) = mode;
    }

    /// Closes the listener and every open connection: clients see their connections drop and
    /// new ones refused. Recorded messages are kept.
    pub async fn stop(&self) {
        let running = lock(&self.running).take();
        if let Some(running) = running {
            let _ = running.shutdown.send(());
            let _ = running.task.await;
        }
    }

    /// Listens again on the same port after [`SmtpSink::stop`]; does nothing if running.
    ///
    /// # Errors
    /// When the port cannot be bound again (someone else took it).
    pub async fn restart(&self) -> anyhow::Result<()> {
        let mut running = lock(&self.running);
        if running.is_none() {
            *running = Some(listen(self.addr, &self.shared)?.1);
        }
        Ok(())
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(running) = lock(&self.running).take() {
            running.task.abort(); // dropping the task's JoinSet aborts the connections
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn listen(addr: SocketAddr, shared: &Arc<Shared>) -> anyhow::Result<(SocketAddr, Running)> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(64)?;
    let addr = listener.local_addr()?;
    let (shutdown, mut stop) = oneshot::channel();
    let shared = Arc::clone(shared);
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        connections.spawn(serve(stream, Arc::clone(&shared)));
                    }
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        connections.shutdown().await;
    });
    Ok((addr, Running { shutdown, task }))
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    let (mut from, mut to) = (None::<String>, Vec::new());
    write.write_all(b"220 warden-smtp-sink ESMTP\r\n").await?;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line);
        let command = command.trim_end();
        let verb = command.split([' ', ':']).next().unwrap_or_default();
        let reply = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                (from, to) = (None, Vec::new());
                "250-warden-smtp-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
            }
            "HELO" | "RSET" => {
                (from, to) = (None, Vec::new());
                "250 OK\r\n"
            }
            "NOOP" => "250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            "MAIL" => match angle_addr(command) {
                Some(addr) => {
                    (from, to) = (Some(addr), Vec::new());
                    "250 OK\r\n"
                }
                None => "501 Syntax error\r\n",
            },
            "RCPT" => match (&from, angle_addr(command), *lock(&shared.mode)) {
                (None, _, _) => "503 MAIL first\r\n",
                (_, None, _) => "501 Syntax error\r\n",
                (_, _, ReplyMode::TransientFailure) => "451 4.3.0 Try again later\r\n",
                (_, _, ReplyMode::PermanentFailure) => "550 5.1.1 No such mailbox\r\n",
                (_, Some(addr), ReplyMode::Accept | ReplyMode::StallAfterData) => {
                    to.push(addr);
                    "250 OK\r\n"
                }
            },
            "DATA" if from.is_none() || to.is_empty() => "503 MAIL and RCPT first\r\n",
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if reader.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(()); // the client went away mid-message: nothing recorded
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    data.extend_from_slice(line.strip_prefix(b".").unwrap_or(&line));
                }
                if *lock(&shared.mode) == ReplyMode::StallAfterData {
                    *lock(&shared.stalled) += 1;
                    shared.arrived.notify_waiters();
                    // Never answer; return when the client goes away.
                    while reader.read_until(b'\n', &mut line).await? != 0 {
                        line.clear();
                    }
                    return Ok(());
                }
                let mail = ReceivedMail {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data: String::from_utf8_lossy(&data).into_owned(),
                };
                lock(&shared.messages).push(mail);
                shared.arrived.notify_waiters();
                "250 OK: queued\r\n"
            }
            _ => "502 Command not implemented\r\n",
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

/// The address between `<` and `>` in `MAIL FROM:<a@b> SIZE=1`.
fn angle_addr(command: &str) -> Option<String> {
    let start = command.find('<')? + 1;
    let len = command.get(start..)?.find('>')?;
    command.get(start..start + len).map(str::to_owned)
}

/// Splits a MIME entity into its header block and its body.
fn split_entity(entity: &str) -> (&str, &str) {
    if let Some(body) = entity.strip_prefix("\r\n") {
        return ("", body);
    }
    entity.split_once("\r\n\r\n").unwrap_or((entity, ""))
}

fn header_in(head: &str, name: &str) -> Option<String> {
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", "\t");
    unfolded.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The value of parameter `name` in a header like `multipart/alternative; boundary="x"`.
fn header_param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn find_part(head: &str, body: &str, mime: &str) -> Option<String> {
    let content_type = header_in(head, "Content-Type").unwrap_or_else(|| "text/plain".into());
    let kind = content_type.split(';').next().unwrap_or_default().trim();
    if kind.to_ascii_lowercase().starts_with("multipart/") {
        let delimiter = format!("--{}", header_param(&content_type, "boundary")?);
        return body
            .split(delimiter.as_str())
            .skip(1) // the preamble
            .take_while(|part| !part.starts_with("--")) // the closing delimiter
            .find_map(|part| {
                let part = part.strip_prefix("\r\n")?;
                let part = part.strip_suffix("\r\n").unwrap_or(part);
                let (head, body) = split_entity(part);
                find_part(head, body, mime)
            });
    }
    if !kind.eq_ignore_ascii_case(mime) {
        return None;
    }
    let encoding = header_in(head, "Content-Transfer-Encoding").unwrap_or_default();
    let bytes = match encoding.to_ascii_lowercase().as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => decode_base64(body),
        _ => body.as_bytes().to_vec(),
    };
    Some(String::from_utf8_lossy(&bytes).replace("\r\n", "\n"))
}

fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = bytes.get(i + 1..i + 3);
        match (byte, hex) {
            (b'=', Some(b"\r\n")) => i += 3, // soft line break
            (b'=', _) if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            (b'=', Some(hex)) if hex.iter().all(u8::is_ascii_hexdigit) => {
                let hex = std::str::from_utf8(hex).unwrap_or_default();
                out.push(u8::from_str_radix(hex, 16).unwrap_or_default());
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

fn decode_base64(text: &str) -> Vec<u8> {
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue, // padding and line breaks
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(data: &str) -> ReceivedMail {
        ReceivedMail {
            from: String::new(),
            to: vec![],
            data: data.into(),
        }
    }

    #[test]
    fn reads_folded_headers_and_nested_encoded_parts() {
        let data = "Subject: a long\r\n\tsubject\r\nContent-Type: multipart/mixed;\r\n \
                    boundary=\"outer\"\r\n\r\npreamble\r\n--outer\r\n\
                    Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n\
                    Content-Type: text/plain; charset=utf-8\r\n\
                    Content-Transfer-Encoding: quoted-printable\r\n\r\n\
                    caf=C3=A9 =\r\nau lait\r\nline two\r\n--inner\r\n\
                    Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                    PHA+Y2Fmw6k8L3A+\r\n--inner--\r\n\r\n--outer--\r\n";
        let mail = mail(data);
        assert_eq!(mail.header("subject").as_deref(), Some("a long\tsubject"));
        assert_eq!(mail.header("X-Missing"), None);
        assert_eq!(mail.text_part().as_deref(), Some("café au lait\nline two"));
        assert_eq!(mail.html_part().as_deref(), Some("<p>café</p>"));
    }

    #[test]
    fn a_message_without_content_type_is_plain_text() {
        let mail = mail("Subject: hi\r\n\r\nbody\r\n");
        assert_eq!(mail.text_part().as_deref(), Some("body\n"));
        assert_eq!(mail.html_part(), None);
    }

    async fn reply(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            text.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return text;
            }
        }
    }

    #[tokio::test]
    async fn speaks_smtp_unstuffs_dots_and_comes_back_on_the_same_port() {
        let sink = SmtpSink::start().await.unwrap();
        let (read, mut write) = TcpStream::connect(sink.addr()).await.unwrap().into_split();
        let mut reader = BufReader::new(read);
        assert!(reply(&mut reader).await.starts_with("220"));
        for (command, code) in [
            ("EHLO me\r\n", "250"),
            ("DATA\r\n", "503"),
            ("MAIL FROM:<a@x.test>\r\n", "250"),
            ("RCPT TO:<b@y.test>\r\n", "250"),
            ("DATA\r\n", "354"),
            ("Subject: s\r\n\r\n..dot\r\nend\r\n.\r\n", "250"),
            ("NOOP\r\n", "250"),
            ("QUIT\r\n", "221"),
        ] {
            write.write_all(command.as_bytes()).await.unwrap();
            let answer = reply(&mut reader).await;
            assert!(answer.starts_with(code), "{command:?} -> {answer:?}");
        }
        let mails = sink.wait_for(1, Duration::from_secs(5)).await.unwrap();
        assert_eq!(mails[0].from, "a@x.test");
        assert_eq!(mails[0].to, vec!["b@y.test".to_string()]);
        assert_eq!(mails[0].data, "Subject: s\r\n\r\n.dot\r\nend\r\n");
        assert!(sink.wait_for(2, Duration::from_millis(50)).await.is_err());

        let idle = TcpStream::connect(sink.addr()).await.unwrap();
        sink.stop().await;
        let mut buf = Vec::new();
        let mut idle = BufReader::new(idle);
        idle.read_until(b'\0', &mut buf).await.ok(); // greeting, then EOF or reset
        assert!(TcpStream::connect(sink.addr()).await.is_err());

        sink.restart().await.unwrap();
        sink.set_reply_mode(ReplyMode::PermanentFailure);
        let (read, mut write) = TcpStream::connect(sink.addr()).await.unwrap().into_split();
        let mut reader = BufReader::new(read);
        reply(&mut reader).await;
        write
            .write_all(b"HELO me\r\nMAIL FROM:<a@x.test>\r\n")
            .await
            .unwrap();
        reply(&mut reader).await;
        reply(&mut reader).await;
        write.write_all(b"RCPT TO:<b@y.test>\r\n").await.unwrap();
        assert!(reply(&mut reader).await.starts_with("550"));
    }

    #[test]
    fn parses_envelope_addresses() {
        assert_eq!(
            angle_addr("MAIL FROM:<a@b.c> BODY=8BITMIME").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(angle_addr("MAIL FROM:<>").as_deref(), Some(""));
        assert_eq!(angle_addr("RCPT TO:a@b.c"), None);
    }
}
