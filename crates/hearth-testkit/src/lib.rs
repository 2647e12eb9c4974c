//! Fixtures for Hearth's test suites (a dev-dependency only).
//!
//! Redis for tests: a `redis-server` of the test's own on a free loopback
//! port, with the persistence the docs ask for (AOF, `appendfsync always`),
//! and the switch that runs the server's whole protocol suite on the Redis
//! backend (`HEARTH_TEST_BACKEND=redis`). Debian's `redis-server` package
//! provides the binary (`scripts/setup.sh --test` installs it).
//!
//! An S3-compatible server for tests: [`S3Server`], a `moto` server (PyPI
//! `moto[server]`, also installed by `scripts/setup.sh --test`) of the
//! test's own on a free loopback port, with one bucket, for the file store
//! of a cluster.

use std::io::{BufRead, Read, Write};
#[cfg(target_os = "linux")]
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// True when this run of the suite is on the Redis backend.
pub fn redis_backend() -> bool {
    std::env::var("HEARTH_TEST_BACKEND").is_ok_and(|b| b == "redis")
}

/// A `redis-server` child process.
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl RedisServer {
    /// Starts Redis with its data in `dir` (created), on a free port.
    pub fn start(dir: &Path) -> RedisServer {
        std::fs::create_dir_all(dir).expect("redis dir");
        let mut server = RedisServer {
            port: free_port(),
            dir: dir.to_owned(),
            child: None,
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn spawn(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(&self.dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--protected-mode",
                "no",
                // `notice` logs the line that says it is ready.
                "--loglevel",
                "notice",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe. The server dies with the test
        // thread that started it, even when the test panics or is killed.
        #[cfg(target_os = "linux")]
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .expect("redis-server runs (scripts/setup.sh --test installs it)");
        let log = child.stdout.take().expect("piped stdout");
        self.child = Some(child);
        wait_ready(log);
    }

    /// SIGKILL: no shutdown save, only what the AOF already has survives.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data. Call it from a thread
    /// that outlives the server (a test's own thread, a program's main
    /// thread), not a short-lived pool thread: the server dies with the
    /// thread that started it.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

/// Waits for the log line Redis writes once it listens and has loaded its
/// data ("Ready to accept connections", 7.0 and later).
fn wait_ready(log: std::process::ChildStdout) {
    wait_for_line(
        log,
        "Ready to accept connections",
        "redis-server",
        Duration::from_secs(10),
    );
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Servers started for data dirs, so a server restarted on the same data dir
/// finds the same Redis (its "disk"). They live until the test's thread
/// ends (see `PR_SET_PDEATHSIG` above).
static BY_DATA_DIR: Mutex<Vec<(PathBuf, RedisServer)>> = Mutex::new(Vec::new());

/// The URL of the Redis that belongs to the data dir `dir`, started on first
/// use.
pub fn redis_for(dir: &Path) -> String {
    let mut servers = BY_DATA_DIR.lock().unwrap_or_else(|p| p.into_inner());
    // Forget servers whose data dir is gone (their test ended).
    servers.retain(|(dir, _)| dir.exists());
    if let Some((_, server)) = servers.iter().find(|(d, _)| d == dir) {
        return server.url();
    }
    let server = RedisServer::start(&dir.join("redis"));
    let url = server.url();
    servers.push((dir.to_owned(), server));
    url
}

/// An S3-compatible server (`moto`) child process with one empty bucket,
/// [`S3Server::BUCKET`]. It keeps objects in its memory: they last as long
/// as it runs.
pub struct S3Server {
    pub port: u16,
    child: Option<Child>,
}

impl S3Server {
    /// The bucket the server is started with.
    pub const BUCKET: &'static str = "hearth-test";
    /// Credentials to give the S3 client (moto accepts any).
    pub const ACCESS_KEY_ID: &'static str = "hearth-test";
    pub const SECRET_ACCESS_KEY: &'static str = "hearth-test-secret";

    /// Starts the server on a free port, waits until it listens, and
    /// creates the bucket.
    pub fn start() -> S3Server {
        let port = free_port();
        let mut command = Command::new("python3");
        command
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Werkzeug says where it listens, then logs each request here.
            .stderr(Stdio::piped());
        // SAFETY: as for redis-server: prctl is async-signal-safe.
        #[cfg(target_os = "linux")]
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .expect("python3 runs (scripts/setup.sh --test installs moto[server])");
        let log = child.stderr.take().expect("piped stderr");
        let server = S3Server {
            port,
            child: Some(child),
        };
        wait_for_line(
            log,
            &format!("Running on http://127.0.0.1:{port}"),
            "the moto S3 server",
            Duration::from_secs(30),
        );
        let status = server.request("PUT", &format!("/{}", Self::BUCKET));
        assert_eq!(status, 200, "creating the test bucket");
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's `--files` value: `s3://BUCKET?endpoint=…`.
    pub fn files_url(&self) -> String {
        format!("s3://{}?endpoint={}", Self::BUCKET, self.endpoint())
    }

    /// The environment an S3 client (`AWS_*`) reads its credentials from.
    pub fn env(&self) -> [(&'static str, &'static str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", Self::ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", Self::SECRET_ACCESS_KEY),
        ]
    }

    /// How many objects the bucket holds (an unsigned listing, which moto
    /// answers): what a test checks to see the store itself.
    pub fn object_count(&self) -> usize {
        let body = self.get(&format!("/{}?list-type=2", Self::BUCKET));
        body.matches("<Key>").count()
    }

    /// One HTTP/1.1 request without a body; returns the status.
    fn request(&self, method: &str, path: &str) -> u16 {
        self.exchange(method, path).0
    }

    fn get(&self, path: &str) -> String {
        let (status, body) = self.exchange("GET", path);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn exchange(&self, method: &str, path: &str) -> (u16, String) {
        let mut stream =
            std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("moto listens");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("request sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer read");
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        (status, body.to_owned())
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits (up to `within`) for a child's log line holding `needle`; a thread
/// reads the log to its end, so the child never blocks on a full pipe.
fn wait_for_line(log: impl Read + Send + 'static, needle: &str, what: &str, within: Duration) {
    let (ready, is_ready) = mpsc::channel();
    let needle = needle.to_owned();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(log).lines();
        let found = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains(&needle));
        let _ = ready.send(found);
        for _ in lines.map_while(Result::ok) {}
    });
    match is_ready.recv_timeout(within) {
        Ok(true) => {}
        Ok(false) => panic!("{what} exited before it was ready"),
        Err(_) => panic!("{what} was not ready within {within:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s3_server_starts_with_an_empty_bucket_and_stops_on_drop() {
        let server = S3Server::start();
        assert_eq!(server.object_count(), 0);
        assert_eq!(server.request("PUT", "/hearth-test/empty-object"), 200);
        assert_eq!(server.object_count(), 1);
        assert_eq!(
            server.files_url(),
            format!("s3://hearth-test?endpoint=http://127.0.0.1:{}", server.port)
        );
        let port = server.port;
        drop(server);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
