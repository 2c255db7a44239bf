//! The service's JSON error in place of hyper's empty answers to requests it
//! cannot read.
//!
//! hyper answers a request head it cannot parse by itself, before any of
//! agrimap runs: 400 (malformed), 414 (a request target over the 65,534
//! bytes an `http::Uri` holds) or 431 (a head over hyper's buffer, or over
//! 100 headers), each with an empty body, and then closes the connection.
//! hyper has no hook for these answers, so [`JsonParseErrors`] wraps the
//! connection and, when hyper writes one of them, writes the same status with
//! the body every other error of the service has, `{"error": {"code",
//! "message"}}`.
//!
//! Such an answer is recognised by its whole shape: a 400, 414 or 431 head
//! with `content-length: 0` and no `content-type`, written alone. agrimap's
//! own errors always carry a JSON body, and body bytes are never written
//! alone as a complete response head, so nothing else matches.

use crate::error::ApiError;
use axum::http::StatusCode;
use std::fmt::Write as _;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest request target hyper reads (`http::Uri`'s limit).
pub const MAX_URL_BYTES: usize = 65_534;

/// Largest request head (request line and headers) hyper buffers.
pub const MAX_HEAD_BYTES: usize = 400 * 1024;

/// A connection whose bodiless parse-error answers get a JSON body.
pub struct JsonParseErrors<I> {
    inner: I,
    /// Bytes of a rewritten answer not yet written to `inner`.
    pending: Vec<u8>,
}

impl<I> JsonParseErrors<I> {
    pub fn new(inner: I) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }
}

/// The JSON error for a status hyper answers by itself.
fn error_for(status: u16) -> Option<ApiError> {
    let (status, code, message) = match status {
        400 => (
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the request could not be read as HTTP/1.1".to_owned(),
        ),
        414 => (
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the URL is longer than the {MAX_URL_BYTES} bytes this server reads"),
        ),
        431 => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "the request line and headers are larger than the {} KiB (or 100 headers) this server reads",
                MAX_HEAD_BYTES / 1024
            ),
        ),
        _ => return None,
    };
    Some(ApiError::new(status, code, message))
}

/// The JSON answer in place of `head`, when `head` is one of hyper's own
/// bodiless parse-error answers.
fn rewrite(head: &[u8]) -> Option<Vec<u8>> {
    // hyper's answer is a status line, a length and a date: a cheap test
    // first keeps every other write (bodies of megabytes) from being read.
    if head.len() > 256 || !head.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let lines = text.strip_suffix("\r\n\r\n")?;
    let mut lines = lines.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let error = error_for(status)?;
    let headers: Vec<&str> = lines.collect();
    let is = |line: &&str, name: &str| {
        line.split_once(':')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
    };
    let empty = headers
        .iter()
        .any(|l| is(l, "content-length") && l.split_once(':').is_some_and(|(_, v)| v.trim() == "0"));
    if !empty
        || headers
            .iter()
            .any(|l| is(l, "content-type") || is(l, "transfer-encoding"))
    {
        return None;
    }
    let body = error.body().to_string();
    let mut out = format!("{status_line}\r\n");
    for line in headers
        .iter()
        .filter(|l| !is(l, "content-length") && !is(l, "connection"))
    {
        out.push_str(line);
        out.push_str("\r\n");
    }
    let _ = write!(
        out,
        "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    Some(out.into_bytes())
}

impl<I: AsyncWrite + Unpin> JsonParseErrors<I> {
    /// Writes what is left of a rewritten answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `head` as written when it is one of hyper's own answers.
    fn take_parse_error(&mut self, cx: &mut Context<'_>, head: &[u8]) -> Option<Poll<io::Result<usize>>> {
        let answer = rewrite(head)?;
        self.pending = answer;
        // What is not written now is written on the flush hyper does next.
        Some(match self.poll_pending(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(head.len())),
        })
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for JsonParseErrors<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for JsonParseErrors<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(done) = self.take_parse_error(cx, buf) {
            return done;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        // hyper's own answers have no body: the head is the only slice.
        let mut written = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(head), None) = (written.next(), written.next())
            && let Some(done) = self.take_parse_error(cx, head)
        {
            return done;
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Sun, 06 Dec 2026 02:18:45 GMT\r\n";

    #[test]
    fn hypers_empty_answers_get_the_json_error() {
        for (status, code) in [
            ("414 URI Too Long", "uri_too_long"),
            ("431 Request Header Fields Too Large", "headers_too_large"),
            ("400 Bad Request", "bad_request"),
        ] {
            let head = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n{DATE}\r\n");
            let answer = String::from_utf8(rewrite(head.as_bytes()).expect("rewritten")).expect("text");
            let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
            assert!(head.starts_with(&format!("HTTP/1.1 {status}\r\n")), "{head}");
            assert!(head.contains(DATE.trim_end()), "{head}");
            assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
            let json: serde_json::Value = serde_json::from_str(body).expect("json");
            assert_eq!(json["error"]["code"], code);
        }
    }

    #[test]
    fn anything_else_is_written_as_it_is() {
        for other in [
            format!("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n{DATE}\r\n"),
            format!("HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\ncontent-length: 0\r\n{DATE}\r\n"),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 52\r\n{DATE}\r\n"),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n{DATE}\r\nbody"),
            "HTTP/1.1 414 URI Too Long".to_owned(),
            String::new(),
        ] {
            assert_eq!(rewrite(other.as_bytes()), None, "{other}");
        }
    }
}
