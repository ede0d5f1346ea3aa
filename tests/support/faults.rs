//! A loopback HTTP server that misbehaves on purpose, for the fault matrix: any status with any
//! headers, an accepted connection that is never answered, a body cut off mid-way, HTML where
//! JSON belongs, a 50 MB body, a redirect to another host. It records every request it saw
//! (method, path, raw headers, when), so a test can count retries and look for credentials.
//!
//! Raw tokio sockets rather than a mock library, because "accept and never answer" and "close
//! in the middle of the body" are not answers a mock library gives. Everything listens on
//! 127.0.0.x and every connection ends by itself (a hung one after [`HANG`]).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a "never answers" connection is held before the server lets it go.
pub const HANG: Duration = Duration::from_mins(1);
/// The size of the huge body.
pub const HUGE: usize = 50 * 1024 * 1024;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The whole request head (request line and headers) as sent.
    pub head: String,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }
}

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete answer.
    Status { code: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// Reads the request, then never writes a byte.
    Hang,
    /// Promises `Content-Length` bytes, sends the first of them, closes.
    Cut { body: Vec<u8> },
    /// A 200 whose chunked body is [`HUGE`] bytes of JSON-looking filler.
    Huge,
}

impl Reply {
    pub fn json(code: u16, body: &str) -> Reply {
        Reply::Status {
            code,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Status { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }
}

pub type Responder = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

pub struct FaultServer {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultServer {
    /// Listens on `ip` (127.0.0.1, or 127.0.0.2 to be "another host") and answers every
    /// request with `respond`.
    pub async fn start_on(ip: &str, respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FaultServer {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let respond: Responder = Arc::new(respond);
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (log, respond) = (log.clone(), respond.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(HANG, serve(stream, log, respond)).await;
                });
            }
        });
        FaultServer { addr, seen, task }
    }

    pub async fn start(respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FaultServer {
        FaultServer::start_on("127.0.0.1", respond).await
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback port that refuses connections, held by the returned socket: bound but never
/// listening, so no other test server can take the port while the socket lives (a port that
/// was bound and released could be handed to the next server started beside it).
pub fn refused_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// Serves requests on one connection (keep-alive) until the client closes it.
async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Seen>>>, respond: Responder) {
    let mut buf = Vec::new();
    loop {
        let Some(seen) = read_request(&mut stream, &mut buf).await else { return };
        log.lock().unwrap().push(seen.clone());
        match respond(&seen) {
            Reply::Status { code, headers, body } => {
                let mut head = format!("HTTP/1.1 {code} {}\r\ncontent-length: {}\r\n", reason(code), body.len());
                for (k, v) in &headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(&body).await.is_err() {
                    return;
                }
            }
            Reply::Hang => {
                tokio::time::sleep(HANG).await;
                return;
            }
            Reply::Cut { body } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len() * 4
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
                return;
            }
            Reply::Huge => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 1 << 20];
                let mut sent = 0;
                let open = b"{\"value\": [";
                let _ = stream.write_all(format!("{:x}\r\n", open.len()).as_bytes()).await;
                let _ = stream.write_all(open).await;
                let _ = stream.write_all(b"\r\n").await;
                while sent < HUGE {
                    let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                    if stream.write_all(&frame).await.is_err() {
                        return; // the client stopped reading: what a size limit does
                    }
                    sent += chunk.len();
                }
                let _ = stream.write_all(b"2\r\n]}\r\n0\r\n\r\n").await;
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Seen> {
    let head_end = loop {
        if let Some(at) = find(buf, b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut first = head.lines().next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..head_end + length].to_vec();
    buf.drain(..head_end + length);
    Some(Seen { at: Instant::now(), method, target, head, body })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
