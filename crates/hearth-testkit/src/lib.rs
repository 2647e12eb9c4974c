//! Fixtures for Hearth's test suites (a dev-dependency only).
//!
//! Redis for tests: a `redis-server` of the test's own on a free loopback
//! port, with the persistence the docs ask for (AOF, `appendfsync always`),
//! and the switch that runs the server's whole protocol suite on the Redis
//! backend (`HEARTH_TEST_BACKEND=redis`). Debian's `redis-server` package
//! provides the binary (`scripts/setup.sh --test` installs it).

#[cfg(target_os = "linux")]
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
                "--loglevel",
                "warning",
            ])
            .stdout(Stdio::null())
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
        let child = command
            .spawn()
            .expect("redis-server runs (scripts/setup.sh --test installs it)");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                conn.set_read_timeout(Some(Duration::from_secs(1))).ok();
                let mut answer = [0u8; 64];
                if conn.write_all(b"PING\r\n").is_ok()
                    && conn
                        .read(&mut answer)
                        .is_ok_and(|n| answer[..n].starts_with(b"+PONG"))
                {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
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
