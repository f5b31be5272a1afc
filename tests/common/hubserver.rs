//! A stand-in for the Hugging Face Hub's download endpoint, for tests that
//! fetch without the network: HTTP/1.1 on 127.0.0.1, one thread per
//! connection, `Connection: close` on every answer.
//!
//! `GET /{owner}/{repo}/resolve/{revision}/{file}` is answered as the Hub
//! answers it, with the headers hf-hub reads (`X-Repo-Commit`, `ETag` or
//! `X-Linked-Etag`, `Content-Range` for `Range` requests):
//! - a file kept in git ([`EtagKind::Git`]) directly, its `ETag` the git blob
//!   sha1 of the bytes;
//! - an LFS file ([`EtagKind::Lfs`]) with a 302 to `/cdn/{file}` on the same
//!   server (as the Hub redirects to its CDN), its `X-Linked-Etag` the sha256
//!   of the bytes;
//! - a file the repository lacks with a 404 and `X-Error-Code: EntryNotFound`.
//!
//! Faults: [`HubServer::wrong_etag`] publishes the hash of other bytes;
//! [`HubServer::truncate`] announces the full length but closes the
//! connection after the given byte of the file.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The commit every answer names in `X-Repo-Commit`.
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// How the Hub keeps a file, which decides the hash it publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtagKind {
    /// Large files: `X-Linked-Etag` is the sha256 of the content.
    Lfs,
    /// Small files in git: `ETag` is the git blob sha1 of the content.
    Git,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `git hash-object` of `bytes`: sha1 of `blob <len>\0` and the bytes.
pub fn git_sha1_hex(bytes: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Served {
    bytes: Vec<u8>,
    kind: EtagKind,
    wrong_etag: bool,
    /// Close the connection after this byte offset of the file.
    truncate_at: Option<usize>,
}

impl Served {
    /// The hash the server publishes: of the bytes, or of other bytes.
    fn etag(&self) -> String {
        let mut bytes = self.bytes.clone();
        if self.wrong_etag {
            bytes.push(b'!');
        }
        match self.kind {
            EtagKind::Lfs => sha256_hex(&bytes),
            EtagKind::Git => git_sha1_hex(&bytes),
        }
    }
}

struct Shared {
    resolve_prefix: String,
    files: Mutex<BTreeMap<String, Served>>,
    connections: AtomicUsize,
    requests: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// A running stand-in Hub; stops when dropped.
pub struct HubServer {
    /// The base URL to use as the Hub endpoint (`HF_ENDPOINT`).
    pub endpoint: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl HubServer {
    /// Serves `files` as the content of `repo` at `revision`.
    pub fn start(repo: &str, revision: &str, files: Vec<(&str, Vec<u8>, EtagKind)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let endpoint = format!("http://{addr}");
        let shared = Arc::new(Shared {
            resolve_prefix: format!("/{repo}/resolve/{revision}/"),
            files: Mutex::new(
                files
                    .into_iter()
                    .map(|(name, bytes, kind)| {
                        let served = Served {
                            bytes,
                            kind,
                            wrong_etag: false,
                            truncate_at: None,
                        };
                        (name.to_string(), served)
                    })
                    .collect(),
            ),
            connections: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let state = shared.clone();
        let base = endpoint.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if state.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                state.connections.fetch_add(1, Ordering::SeqCst);
                let state = state.clone();
                let base = base.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &state, &base);
                });
            }
        });
        Self {
            endpoint,
            addr,
            shared,
        }
    }

    /// From now on, publish for `file` the hash of other bytes.
    pub fn wrong_etag(&self, file: &str) {
        self.with_file(file, |f| f.wrong_etag = true);
    }

    /// From now on, close the connection after byte `after` of `file`,
    /// having announced the full length.
    pub fn truncate(&self, file: &str, after: usize) {
        self.with_file(file, |f| f.truncate_at = Some(after));
    }

    fn with_file(&self, file: &str, change: impl FnOnce(&mut Served)) {
        let mut files = self.shared.files.lock().unwrap();
        change(
            files
                .get_mut(file)
                .unwrap_or_else(|| panic!("the server has no file {file}")),
        );
    }

    /// TCP connections accepted so far (a reachability check counts).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Requests so far, as `"<path> <range header or ->"`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn serve(stream: TcpStream, state: &Shared, base: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(()); // a reachability check
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            if name.eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }
    state
        .requests
        .lock()
        .unwrap()
        .push(format!("{path} {}", range.as_deref().unwrap_or("-")));

    let files = state.files.lock().unwrap();
    let commit = format!("X-Repo-Commit: {COMMIT}\r\n");
    if let Some(name) = path.strip_prefix(&state.resolve_prefix) {
        let Some(f) = files.get(name) else {
            let body = "Entry not found";
            let head = format!(
                "HTTP/1.1 404 Not Found\r\nX-Error-Code: EntryNotFound\r\n{commit}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            return out.write_all(format!("{head}{body}").as_bytes());
        };
        return match f.kind {
            EtagKind::Lfs => {
                // The Hub's ETag for an LFS file is not the content's hash;
                // a client must use X-Linked-Etag.
                let head = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {base}/cdn/{name}\r\nX-Linked-Etag: \"{}\"\r\nX-Linked-Size: {}\r\nETag: \"{}\"\r\n{commit}Content-Length: 0\r\nConnection: close\r\n\r\n",
                    f.etag(),
                    f.bytes.len(),
                    git_sha1_hex(name.as_bytes()),
                );
                out.write_all(head.as_bytes())
            }
            EtagKind::Git => {
                let extra = format!("ETag: \"{}\"\r\n{commit}", f.etag());
                send_bytes(&mut out, f, range.as_deref(), &extra)
            }
        };
    }
    if let Some(f) = path.strip_prefix("/cdn/").and_then(|n| files.get(n)) {
        return send_bytes(&mut out, f, range.as_deref(), "");
    }
    out.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

/// The file's bytes, or the `bytes=a-b` / `bytes=a-` slice of them.
fn send_bytes(
    out: &mut TcpStream,
    f: &Served,
    range: Option<&str>,
    extra_headers: &str,
) -> std::io::Result<()> {
    let len = f.bytes.len();
    let (status, start, end) = match range.and_then(|r| r.strip_prefix("bytes=")) {
        None => ("200 OK", 0, len),
        Some(r) => {
            let (a, b) = r.split_once('-').unwrap_or((r, ""));
            let a: usize = a.parse().unwrap_or(0);
            let b = b.parse::<usize>().map_or(len, |b| (b + 1).min(len));
            if a >= len || a >= b {
                let head = format!(
                    "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                return out.write_all(head.as_bytes());
            }
            ("206 Partial Content", a, b)
        }
    };
    let content_range = if status.starts_with("206") {
        format!("Content-Range: bytes {start}-{}/{len}\r\n", end - 1)
    } else {
        String::new()
    };
    let head = format!(
        "HTTP/1.1 {status}\r\n{extra_headers}{content_range}Content-Length: {}\r\nConnection: close\r\n\r\n",
        end - start
    );
    out.write_all(head.as_bytes())?;
    let sent_end = f.truncate_at.map_or(end, |t| t.clamp(start, end));
    out.write_all(&f.bytes[start..sent_end])?;
    out.flush()
    // Dropping the stream closes the connection, early when truncated.
}
