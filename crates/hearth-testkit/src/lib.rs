//! Fixtures for Hearth's test suites (a dev-dependency only).
//!
//! Redis for tests: a `redis-server` of the test's own on a free loopback
//! port, with the persistence the docs ask for (AOF, `appendfsync always`),
//! and the switch that runs the server's whole protocol suite on the Redis
//! backend (`HEARTH_TEST_BACKEND=redis`). Debian's `redis-server` package
//! provides the binary (`scripts/setup.sh --test` installs it).

use std::io::BufRead;
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
/// data ("Ready to accept connections", 7.0 and later). A thread reads the
/// log to its end, so Redis never blocks on a full pipe.
fn wait_ready(log: std::process::ChildStdout) {
    let (ready, is_ready) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(log).lines();
        let found = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains("Ready to accept connections"));
        let _ = ready.send(found);
        // Drain until Redis exits.
        for _ in lines.map_while(Result::ok) {}
    });
    match is_ready.recv_timeout(Duration::from_secs(10)) {
        Ok(true) => {}
        Ok(false) => panic!("redis-server exited before it was ready"),
        Err(_) => panic!("redis-server was not ready within 10 s"),
    }
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
