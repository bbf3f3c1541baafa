//! A minimal HTTP/1.1 client over the daemon's unix socket, for `perouterctl`. One request per
//! connection (`Connection: close`), body read to the end; enough for a local JSON API and
//! no async runtime in the CLI.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Errors talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached.
    #[error("cannot reach perouterd at {path}: {source} (is it running? see --api-socket)")]
    Connect {
        /// Socket path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Reading or writing failed.
    #[error("talking to perouterd: {0}")]
    Io(#[from] std::io::Error),
    /// The answer was not HTTP.
    #[error("malformed answer from perouterd: {0}")]
    Malformed(String),
}

/// An answer: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: String,
}

/// Sends `method path` to the API socket at `socket`.
pub fn request(socket: &Path, method: &str, path: &str) -> Result<Answer, ClientError> {
    let mut s = UnixStream::connect(socket).map_err(|source| ClientError::Connect {
        path: socket.display().to_string(),
        source,
    })?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: perouterd\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> Result<Answer, ClientError> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| ClientError::Malformed("no header end".into()))?;
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| ClientError::Malformed(format!("status line {:?}", head.lines().next())))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_string()
    };
    Ok(Answer { status, body })
}

fn dechunk(mut s: &str) -> Result<String, ClientError> {
    let mut out = String::new();
    loop {
        let (size, rest) = s
            .split_once("\r\n")
            .ok_or_else(|| ClientError::Malformed("chunk size".into()))?;
        let n = usize::from_str_radix(size.trim(), 16)
            .map_err(|_| ClientError::Malformed(format!("chunk size {size:?}")))?;
        if n == 0 {
            return Ok(out);
        }
        let chunk = rest
            .get(..n)
            .ok_or_else(|| ClientError::Malformed("short chunk".into()))?;
        out.push_str(chunk);
        s = rest.get(n..).unwrap_or("").trim_start_matches("\r\n");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_answers() {
        let a = parse(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!(
            a,
            Answer {
                status: 200,
                body: "{}".into()
            }
        );
        let b = parse(b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(
            b,
            Answer {
                status: 404,
                body: "abcde".into()
            }
        );
        assert!(parse(b"garbage").is_err());
    }
}
