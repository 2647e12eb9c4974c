//! The kernel's TCP counters a connection burst can move, read from
//! `/proc/net/netstat` (what `nstat -az TcpExtListenOverflows
//! TcpExtListenDrops TcpExtTCPSynRetrans` prints):
//!
//! - `ListenOverflows`: a handshake completed while the listener's accept
//!   queue was full (the server did not accept fast enough, or its backlog
//!   is too small); the kernel drops the final ACK and the client's SYN is
//!   retried later.
//! - `ListenDrops`: every SYN or ACK a listener dropped, overflows included.
//! - `TCPSynRetrans`: SYNs sent again (the client side of a drop: after 1 s,
//!   then 3 s, 7 s…).
//!
//! The counters belong to the network namespace, not to one port: on a
//! machine where other programs open connections at the same time, a delta
//! can include theirs (the runs here are on loopback with nothing else
//! listening, so a non-zero delta is the server's).

use serde::{Deserialize, Serialize};

/// One reading, or the difference of two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenCounters {
    pub listen_overflows: u64,
    pub listen_drops: u64,
    pub syn_retrans: u64,
}

impl ListenCounters {
    /// Reads the counters now; `None` where `/proc/net/netstat` is missing.
    pub fn read() -> Option<Self> {
        parse(&std::fs::read_to_string("/proc/net/netstat").ok()?)
    }

    /// What happened between `self` (earlier) and `later`.
    pub fn delta(self, later: Self) -> Self {
        Self {
            listen_overflows: later.listen_overflows.saturating_sub(self.listen_overflows),
            listen_drops: later.listen_drops.saturating_sub(self.listen_drops),
            syn_retrans: later.syn_retrans.saturating_sub(self.syn_retrans),
        }
    }

    /// `before.delta(now)`, when both readings exist.
    pub fn since(before: Option<Self>) -> Option<Self> {
        Some(before?.delta(Self::read()?))
    }

    /// As printed after a run.
    pub fn describe(&self) -> String {
        format!(
            "{} listen overflows, {} listen drops, {} SYN retransmits",
            self.listen_overflows, self.listen_drops, self.syn_retrans
        )
    }
}

/// `/proc/net/netstat` holds pairs of lines: `TcpExt: Name1 Name2…` then
/// `TcpExt: 1 2…`.
fn parse(text: &str) -> Option<ListenCounters> {
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let names = lines.next()?.split_ascii_whitespace().skip(1);
    let values = lines.next()?.split_ascii_whitespace().skip(1);
    let mut counters = ListenCounters::default();
    for (name, value) in names.zip(values) {
        let value: u64 = value.parse().ok()?;
        match name {
            "ListenOverflows" => counters.listen_overflows = value,
            "ListenDrops" => counters.listen_drops = value,
            "TCPSynRetrans" => counters.syn_retrans = value,
            _ => {}
        }
    }
    Some(counters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tcpext_pair_of_lines() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPSynRetrans\n\
                    TcpExt: 0 61 65 130\n\
                    IpExt: InNoRoutes\nIpExt: 0\n";
        let c = parse(text).unwrap();
        assert_eq!(
            c,
            ListenCounters {
                listen_overflows: 61,
                listen_drops: 65,
                syn_retrans: 130
            }
        );
        let later = ListenCounters {
            listen_overflows: 70,
            ..c
        };
        assert_eq!(c.delta(later).listen_overflows, 9);
        assert_eq!(c.delta(later).syn_retrans, 0);
    }
}
