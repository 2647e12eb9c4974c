//! Finding rooms on the LAN, end to end: `hearth serve` advertises over
//! multicast DNS and `hearth_client::discovery::Discovery` (in this test
//! process) finds it, joins it at the URL it gives, and sees it leave.
//!
//! Multicast must never leave the test, so every test runs inside a network
//! namespace of its own with only `lo` up: the test re-executes this binary,
//! filtered to itself, under `unshare -n` (see [`in_private_netns`]), and
//! the inner run refuses to start if it sees any interface but `lo`. That
//! needs root, `unshare` (util-linux) and `ip` (iproute2), which CI has; a
//! run without them fails saying so instead of passing silently.
//!
//! No fixed sleeps on success paths: each step waits for its event with a
//! timeout. The one bounded wait is in `mdns_off_advertises_nothing`, which
//! must show that something does *not* appear.
#![cfg(target_os = "linux")]

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hearth_client::Client;
use hearth_client::discovery::{DiscoveredServer, Discovery, DiscoveryEvent};
use hearth_proto::{CertFingerprint, RoomName};
use hearth_server::mdns::MdnsState;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// Set in the re-executed run, inside the namespace.
const INNER: &str = "HEARTH_MDNS_TEST_NETNS";
/// How long a server may take to be found, or to be lost after it stops.
const FIND: Duration = Duration::from_secs(20);
/// How long the whole inner run may take.
const INNER_LIMIT: Duration = Duration::from_secs(120);
/// How long `--mdns off` is watched, after the control server was found.
const QUIET: Duration = Duration::from_secs(3);

/// Run by `sh -c` in a new network namespace before `exec "$0" "$@"`: `lo`
/// up, with multicast and a route for it.
const NETNS_SETUP: &str = "ip link set lo up && ip link set lo multicast on && \
     ip route add 224.0.0.0/4 dev lo && exec \"$0\" \"$@\"";

/// Runs a shell command (set-up inside the namespace); panics if it fails.
fn sh(script: &str) {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `true` inside the private namespace: run the test's body. Outside, runs
/// this test again in a new namespace (only `lo`, up, with multicast and a
/// route for 224.0.0.0/4), checks that it passed, and returns `false`.
fn in_private_netns(test: &str) -> bool {
    if std::env::var_os(INNER).is_some() {
        // /proc/self/net is this namespace's (sysfs may still show the host's).
        let interfaces: Vec<String> = std::fs::read_to_string("/proc/self/net/dev")
            .expect("/proc/self/net/dev lists the interfaces")
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(|name| name.trim().to_owned())
            .collect();
        assert_eq!(
            interfaces,
            vec!["lo".to_owned()],
            "{INNER} is set but this is not a private network namespace: refusing to send multicast"
        );
        return true;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "the mDNS tests need root to make a private network namespace (unshare -n); CI runs as root"
    );
    for (tool, package) in [("unshare", "util-linux"), ("ip", "iproute2")] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        assert!(
            found,
            "the mDNS tests need `{tool}` (Debian package {package}; scripts/setup.sh installs it)"
        );
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let started = Instant::now();
    let mut child = Command::new("unshare")
        .args(["-n", "--", "sh", "-c"])
        .arg(NETNS_SETUP)
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare starts");
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for unshare") {
            break status;
        }
        if started.elapsed() > INNER_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{test} did not finish within {INNER_LIMIT:?} in its namespace");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    // What the inner run measured, for the log of the outer one.
    for line in out
        .lines()
        .filter_map(|l| l.find("measured:").map(|at| &l[at..]))
    {
        println!("{test}: {line}");
    }
    assert!(
        status.success(),
        "{test} failed in its private network namespace ({status})\n--- stdout\n{out}\n--- stderr\n{err}"
    );
    assert!(
        out.contains("test result: ok. 1 passed"),
        "{test} did not run in its namespace\n{out}\n{err}"
    );
    false
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A `hearth serve` child on `0.0.0.0:<free port>`.
struct Served {
    child: tokio::process::Child,
    addr: SocketAddr,
    fingerprint: Option<CertFingerprint>,
    /// The server's log lines after the listening line.
    log: mpsc::UnboundedReceiver<String>,
    _data: tempfile::TempDir,
}

impl Served {
    async fn start(name: &str, extra: &[&str]) -> Served {
        Self::spawn(
            tokio::process::Command::new(env!("CARGO_BIN_EXE_hearth")),
            name,
            extra,
        )
        .await
    }

    /// [`Served::start`] in a network namespace of its own (nested in the
    /// test's), with only its `lo` up: a laptop before it joins a network.
    async fn start_in_own_netns(name: &str, extra: &[&str]) -> Served {
        let mut command = tokio::process::Command::new("unshare");
        command
            .args(["-n", "--", "sh", "-c", NETNS_SETUP])
            .arg(env!("CARGO_BIN_EXE_hearth"));
        Self::spawn(command, name, extra).await
    }

    async fn spawn(mut command: tokio::process::Command, name: &str, extra: &[&str]) -> Served {
        let data = tempfile::tempdir().unwrap();
        let mut child = command
            .arg("serve")
            .args(["--bind", "0.0.0.0:0", "--log", "info", "--name", name])
            .arg("--data")
            .arg(data.path())
            .args(extra)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("hearth starts");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let (addr, fingerprint) = tokio::time::timeout(FIND, async {
            let mut fingerprint = None;
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(fp) =
                    line.strip_prefix("hearth: TLS certificate fingerprint (SHA-256) ")
                {
                    fingerprint = Some(fp.parse().unwrap());
                }
                let listening = line.strip_prefix("hearth: listening on ");
                if let Some(url) = listening.and_then(|l| l.split("://").nth(1)) {
                    return (url.parse::<SocketAddr>().unwrap(), fingerprint);
                }
            }
            panic!("hearth exited before listening");
        })
        .await
        .expect("hearth listens in time");
        let (tx, log) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
            }
        });
        Served {
            child,
            addr,
            fingerprint,
            log,
            _data: data,
        }
    }

    /// Waits for a log line containing `text`.
    async fn log_line(&mut self, text: &str) -> String {
        tokio::time::timeout(FIND, async {
            while let Some(line) = self.log.recv().await {
                if line.contains(text) {
                    return line;
                }
            }
            panic!("the server's log ended without {text:?}");
        })
        .await
        .unwrap_or_else(|_| panic!("no log line with {text:?}"))
    }

    fn sigterm(&self) {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    }
}

/// Waits for `Found` of the server named `name`.
async fn found(events: &mut mpsc::Receiver<DiscoveryEvent>, name: &str) -> DiscoveredServer {
    tokio::time::timeout(FIND, async {
        loop {
            match events.recv().await.expect("discovery runs") {
                DiscoveryEvent::Found(server) if server.name == name => return server,
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{name:?} was not found within {FIND:?}"))
}

/// Waits for `Lost` of `id`.
async fn lost(events: &mut mpsc::Receiver<DiscoveryEvent>, id: &str) {
    tokio::time::timeout(FIND, async {
        loop {
            if let DiscoveryEvent::Lost { id: gone } = events.recv().await.expect("discovery runs")
                && gone == id
            {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{id:?} was not lost within {FIND:?}"))
}

fn general() -> RoomName {
    RoomName::parse("general").unwrap()
}

#[test]
fn a_server_is_found_joined_and_lost_after_sigterm() {
    if !in_private_netns("a_server_is_found_joined_and_lost_after_sigterm") {
        return;
    }
    runtime().block_on(async {
        let (discovery, mut events) = Discovery::start().expect("browsing starts");
        let started = Instant::now();
        let name = "ana's room on test.box";
        let mut server = Served::start(name, &[]).await;
        let seen = found(&mut events, name).await;
        println!("measured: start to found {:?}", started.elapsed());
        assert_eq!(seen.port, server.addr.port());
        assert_eq!(
            seen.url,
            format!("http://127.0.0.1:{}/", server.addr.port()),
            "the only IPv4 address in the namespace"
        );
        assert!(!seen.auth_required && !seen.tls);
        assert_eq!(seen.fingerprint, None);
        assert_eq!(seen.room, "general");
        assert_eq!(seen.version, "1.1");
        assert_eq!(seen.id, "ana's room on test.box._hearth._tcp.local.");
        assert!(discovery.servers().contains(&seen), "the snapshot has it");
        let line = server.log_line("visible on this machine only").await;
        assert!(line.contains(name), "{line}");

        // The URL it gives is the server: info, a session, a message.
        let mut ana = Client::new(&seen.url).unwrap();
        assert_eq!(ana.info().await.unwrap().name, name);
        ana.sign_in("ana", None).await.expect("joins");
        ana.post(&general(), "found you on the LAN", "mdns-1")
            .await
            .expect("posts");

        // SIGTERM: the goodbye arrives, and the process exits cleanly.
        let stopping = Instant::now();
        server.sigterm();
        lost(&mut events, &seen.id).await;
        println!("measured: SIGTERM to lost {:?}", stopping.elapsed());
        let status = tokio::time::timeout(FIND, server.child.wait())
            .await
            .expect("exits")
            .unwrap();
        assert!(status.success(), "{status}");
        assert!(discovery.servers().is_empty());
    });
}

#[test]
fn password_and_tls_are_advertised_with_the_fingerprint() {
    if !in_private_netns("password_and_tls_are_advertised_with_the_fingerprint") {
        return;
    }
    runtime().block_on(async {
        let certs = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (certs.path().join("c.pem"), certs.path().join("k.pem"));
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        let expected = CertFingerprint::of_der(made.cert.der());

        let (_discovery, mut events) = Discovery::start().expect("browsing starts");
        let server = Served::start(
            "Attic",
            &[
                "--password",
                "sesame",
                "--password-backoff",
                "0s",
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(server.fingerprint, Some(expected), "printed at start");
        let seen = found(&mut events, "Attic").await;
        assert!(seen.auth_required, "auth=password");
        assert!(seen.tls, "tls=1");
        assert_eq!(seen.fingerprint, Some(expected), "fp is the printed one");
        assert_eq!(
            seen.url,
            format!("https://127.0.0.1:{}/", server.addr.port())
        );

        // Joining needs the password, over the pinned certificate.
        let mut bo = Client::new_pinned(&seen.url, seen.fingerprint).unwrap();
        assert!(bo.sign_in("bo", None).await.is_err(), "no password");
        bo.sign_in("bo", Some("sesame")).await.expect("joins");
        bo.post(&general(), "over TLS, found by mDNS", "mdns-2")
            .await
            .expect("posts");
    });
}

#[test]
fn mdns_off_advertises_nothing() {
    if !in_private_netns("mdns_off_advertises_nothing") {
        return;
    }
    runtime().block_on(async {
        let (discovery, mut events) = Discovery::start().expect("browsing starts");
        let mut silent = Served::start("Silent", &["--mdns", "off"]).await;
        let _control = Served::start("Control", &[]).await;
        let control = found(&mut events, "Control").await;
        silent.log_line("mDNS is off").await;
        // The control was announced and answered queries; give the silent
        // one the same chance, then check it never appeared.
        let quiet = tokio::time::timeout(QUIET, async {
            while let Some(event) = events.recv().await {
                if let DiscoveryEvent::Found(server) = event {
                    assert_ne!(server.name, "Silent", "--mdns off was advertised");
                }
            }
        })
        .await;
        assert!(quiet.is_err(), "discovery kept running");
        let names: Vec<String> = discovery.servers().into_iter().map(|s| s.name).collect();
        assert_eq!(names, vec![control.name]);
        // It still serves: off hides it from the LAN, nothing else.
        let client = Client::new(&format!("http://127.0.0.1:{}", silent.addr.port())).unwrap();
        assert_eq!(client.info().await.unwrap().name, "Silent");
    });
}

#[test]
fn the_library_switch_withdraws_and_advertises_again() {
    if !in_private_netns("the_library_switch_withdraws_and_advertises_again") {
        return;
    }
    runtime().block_on(async {
        let (_discovery, mut events) = Discovery::start().expect("browsing starts");
        let data = tempfile::tempdir().unwrap();
        let mut config = hearth_server::Config::new(data.path());
        config.name = "Hosted by the app".to_owned();
        let advertising = config.advertising.clone();
        let mut state = advertising.watch();
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(hearth_server::run(
            listener,
            config,
            stop.clone().cancelled_owned(),
        ));
        let visible = MdnsState::Visible {
            name: "Hosted by the app".to_owned(),
            id: "Hosted by the app._hearth._tcp.local.".to_owned(),
            lan: false,
        };
        tokio::time::timeout(FIND, state.wait_for(|s| *s == visible))
            .await
            .expect("visible in time")
            .unwrap();
        let seen = found(&mut events, "Hosted by the app").await;
        assert_eq!(
            advertising.state(),
            visible,
            "the app can tell its own room by id: {}",
            seen.id
        );

        // Off: the goodbye goes out at once and the state says so.
        advertising.set_enabled(false);
        lost(&mut events, &seen.id).await;
        assert_eq!(advertising.state(), MdnsState::Off);
        assert!(!advertising.is_enabled());

        // On again: found again, without a restart.
        advertising.set_enabled(true);
        found(&mut events, "Hosted by the app").await;

        stop.cancel();
        lost(&mut events, &seen.id).await;
        server.await.unwrap().unwrap();
        assert_eq!(advertising.state(), MdnsState::Stopped);

        // Loopback only: nothing to advertise, and the state says why.
        let mut config = hearth_server::Config::new(data.path());
        let advertising = config.advertising.clone();
        config.name = "Loopback".to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(hearth_server::run(
            listener,
            config,
            stop.clone().cancelled_owned(),
        ));
        let mut state = advertising.watch();
        tokio::time::timeout(FIND, state.wait_for(|s| *s == MdnsState::Loopback))
            .await
            .expect("loopback state in time")
            .unwrap();
        stop.cancel();
        server.await.unwrap().unwrap();
    });
}

#[test]
fn a_network_that_comes_up_later_is_announced_on() {
    if !in_private_netns("a_network_that_comes_up_later_is_announced_on") {
        return;
    }
    runtime().block_on(async {
        let (_discovery, mut events) = Discovery::start().expect("browsing starts");
        // The server has no network yet: only its own lo, which the test's
        // namespace does not share.
        let mut server = Served::start_in_own_netns("Laptop", &[]).await;
        server
            .log_line("visible on this machine only (no network yet) as Laptop")
            .await;
        let pid = server.child.id().expect("running");
        // It joins one: a veth pair between its namespace and the test's
        // (both private), with IPv4 addresses on each end.
        let joined = Instant::now();
        sh(&format!(
            "ip link add hv0 type veth peer name hv1 netns {pid} && \
             ip addr add 10.77.0.1/24 dev hv0 && ip link set hv0 up && \
             nsenter -t {pid} -n sh -c 'ip addr add 10.77.0.2/24 dev hv1 && ip link set hv1 up'"
        ));
        let seen = found(&mut events, "Laptop").await;
        println!("measured: network up to found {:?}", joined.elapsed());
        assert_eq!(
            seen.url,
            format!("http://10.77.0.2:{}/", server.addr.port()),
            "the address on the new network"
        );
        let info = Client::new(&seen.url).unwrap().info().await.expect("joins");
        assert_eq!(info.name, "Laptop");
        server.log_line("visible on your network as Laptop").await;
    });
}

#[test]
fn a_crashed_server_is_lost_when_rechecked() {
    if !in_private_netns("a_crashed_server_is_lost_when_rechecked") {
        return;
    }
    runtime().block_on(async {
        let (discovery, mut events) = Discovery::start().expect("browsing starts");
        let mut server = Served::start("Crashes", &[]).await;
        let seen = found(&mut events, "Crashes").await;
        // kill -9: no goodbye. Its records would last until their TTL.
        server.child.start_kill().unwrap();
        server.child.wait().await.unwrap();
        let asked = Instant::now();
        discovery.recheck(&seen.id).expect("recheck");
        lost(&mut events, &seen.id).await;
        println!(
            "measured: recheck of a killed server to lost {:?}",
            asked.elapsed()
        );
    });
}
