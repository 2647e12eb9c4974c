//! What the benchmark reads from the operating system: the server's memory
//! and CPU time (from `/proc/<pid>/smaps_rollup` and `/proc/<pid>/stat`,
//! summed over the given processes and, by default, all their descendants),
//! the load generator's own CPU time (`getrusage`), and a description of the
//! machine. For the files benchmark, also the resident set size of a fixed
//! set of processes (cheap enough to read every few milliseconds) and the
//! kernel's own record of its peak (`VmHWM`, which can be reset).
//!
//! Memory is the proportional set size (PSS) where the kernel gives it: a
//! server of several processes (nginx's master and worker, gunicorn's
//! arbiter and worker) shares pages, which a sum of resident set sizes would
//! count more than once. Where `smaps_rollup` cannot be read, it is the RSS.

use std::collections::BTreeSet;
use std::fs;

use serde::{Deserialize, Serialize};

/// One reading of a set of processes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Memory, KiB, summed: PSS, or RSS where PSS could not be read.
    pub mem_kb: u64,
    /// `"PSS"`, `"RSS"`, or `"PSS+RSS"` when mixed.
    pub mem_kind: &'static str,
    /// User + system CPU time, seconds, summed.
    pub cpu_secs: f64,
    /// Processes read.
    pub processes: usize,
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

fn page_kb() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as u64 / 1024 } else { 4 }
}

/// `(ppid, utime + stime in ticks, rss in pages)` of a process.
fn read_stat(pid: u32) -> Option<(u32, u64, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the other
    // fields start after the last `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // fields[0] is field 3 (state): field k is fields[k - 3].
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let rss: i64 = fields.get(21)?.parse().ok()?;
    Some((ppid, utime + stime, rss.max(0) as u64))
}

/// The PSS of a process, KiB.
fn read_pss(pid: u32) -> Option<u64> {
    fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The given pids and, if `children`, every descendant alive now.
pub fn with_descendants(roots: &[u32], children: bool) -> BTreeSet<u32> {
    let mut set: BTreeSet<u32> = roots.iter().copied().collect();
    if !children {
        return set;
    }
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, read_stat(pid)?.0)))
        .collect();
    loop {
        let before = set.len();
        for &(pid, ppid) in &parents {
            if set.contains(&ppid) {
                set.insert(pid);
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

/// Reads the processes now; `None` without pids.
pub fn sample(pids: &[u32], children: bool) -> Option<Sample> {
    if pids.is_empty() {
        return None;
    }
    let (ticks, kb) = (clock_ticks(), page_kb());
    let mut s = Sample::default();
    let (mut pss_used, mut rss_used) = (false, false);
    for pid in with_descendants(pids, children) {
        if let Some((_, cpu, rss)) = read_stat(pid) {
            s.cpu_secs += cpu as f64 / ticks;
            match read_pss(pid) {
                Some(pss) => {
                    s.mem_kb += pss;
                    pss_used = true;
                }
                None => {
                    s.mem_kb += rss * kb;
                    rss_used = true;
                }
            }
            s.processes += 1;
        }
    }
    s.mem_kind = match (pss_used, rss_used) {
        (true, true) => "PSS+RSS",
        (false, true) => "RSS",
        _ => "PSS",
    };
    Some(s)
}

/// The resident set size of exactly these processes, KiB, summed (no
/// descendants looked up: cheap enough to call every few milliseconds).
pub fn rss_kb(pids: &[u32]) -> u64 {
    let kb = page_kb();
    pids.iter()
        .filter_map(|&pid| read_stat(pid))
        .map(|(_, _, rss)| rss * kb)
        .sum()
}

/// Resets the kernel's peak-RSS record (`VmHWM`) of a process to its RSS
/// now (`echo 5 > /proc/<pid>/clear_refs`; the process must be ours).
/// `false` when the kernel does not allow it.
pub fn reset_peak_rss(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The kernel's record of a process's peak RSS (`VmHWM`), KiB: since it
/// started, or since [`reset_peak_rss`].
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The command names of the processes (for the report).
pub fn names(pids: &[u32], children: bool) -> Vec<String> {
    with_descendants(pids, children)
        .into_iter()
        .filter_map(|pid| {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            Some(format!("{pid}:{}", comm.trim()))
        })
        .collect()
}

/// This process's user + system CPU seconds so far.
pub fn self_cpu_secs() -> f64 {
    // SAFETY: getrusage writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

/// This process's resident memory, KiB.
pub fn self_rss_kb() -> u64 {
    read_stat(std::process::id()).map_or(0, |(_, _, rss)| rss * page_kb())
}

/// The machine the run is on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub mem_total_mb: u64,
    pub kernel: String,
    /// CPUs this process may run on (from `taskset`).
    pub generator_cpus: String,
}

pub fn machine() -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let mem_total_mb = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024);
    let generator_cpus = fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    Machine {
        cpus: cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count()
            .max(1),
        cpu_model,
        mem_total_mb,
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        generator_cpus,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let s = sample(&[std::process::id()], true).unwrap();
        assert!(s.mem_kb > 0);
        assert_eq!(s.mem_kind, "PSS");
        assert!(s.processes >= 1);
        assert!(self_rss_kb() > 0);
        assert!(self_cpu_secs() >= 0.0);
        let me = std::process::id();
        assert!(rss_kb(&[me]) > 0);
        assert!(peak_rss_kb(me).unwrap() >= rss_kb(&[me]) / 2);
        assert!(sample(&[], true).is_none());
        // A pid that does not exist is skipped.
        assert_eq!(sample(&[u32::MAX], false).unwrap().processes, 0);
    }
}
