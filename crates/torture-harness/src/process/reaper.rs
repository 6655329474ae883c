//! Processes that outlive the command that started them: found, killed,
//! reaped and counted.
//!
//! Why: when an outside program's command ends, the supervisor kills its
//! process group, but a process can leave the group first (`setsid`, a new
//! process group, a daemon's double fork). Nothing would ever stop it: a
//! run whose operations each leave one behind piles up thousands of them and
//! still passes.
//!
//! How: for an outside program the supervisor becomes a child subreaper
//! ([`Reaper::start`]), so a process whose parent dies is reparented to the
//! supervisor instead of init. Whatever an ended command left behind is then
//! a child of the supervisor that the supervisor did not spawn, or a
//! descendant of one. Every command carries `TORTURE_RUN=TOKEN.N` in its
//! environment (and so do its descendants, unless they clear it): `TOKEN`
//! is random and unique to the run, `N` numbers the command within it.
//!
//! What is guaranteed:
//! - A [`Reaper::sweep`] kills only processes it can prove are left over: a
//!   child of this process that [`super`] did not spawn, whose
//!   environment names this run and a command that is over, together with
//!   its subtree (and its process group when it leads one). A process of a
//!   command still running is never touched.
//! - Each killed process is counted once; a process already being killed
//!   (its group's SIGKILL at the end of its command) is not counted.
//! - Orphans' zombies are reaped by pid, never with `waitpid(-1)`: the
//!   children [`super`] spawned are reaped by their owners.
//! - A sweep is bounded ([`MAX_PASSES`]), so a fork bomb cannot hang the
//!   supervisor; what is left is found by the next sweep.
//! - If `torture` itself dies, the watchdog calls [`kill_tagged`]: every
//!   process whose environment carries the run's token is killed, and only
//!   those.
//!
//! The limits: a process that clears its environment (or rewrites
//! `TORTURE_RUN`) is recognised only as a descendant of one that did not.
//! A child this process spawns other than through [`super`] while
//! a run is on looks like an orphan, and its zombie may be reaped by a
//! sweep; the binary spawns nothing else during an outside program's run.
//!
//! Linux only: `/proc` and `PR_SET_CHILD_SUBREAPER`.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use rand::RngExt;
use rand::distr::Alphanumeric;

use crate::platform::{self, SignalTarget};

/// The environment variable that tags every command of an outside program.
pub const RUN_VAR: &str = "TORTURE_RUN";

/// The most passes of one sweep (each pass kills what the previous one's
/// victims forked in the meantime).
pub const MAX_PASSES: usize = 50;

/// How often a sweep runs while no leftover has been seen: a full scan of
/// `/proc` costs about a millisecond, too much after every operation of a
/// program that leaves nothing behind.
pub const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// The number of the commands run before the first operation (`--init` and
/// the check of the fresh state); the supervisor numbers the others from 1.
pub const PREFLIGHT: u64 = 0;

/// The length of a run's token.
const TOKEN_LEN: usize = 16;

/// `PF_EXITING` in `/proc/PID/stat`'s flags: the process is dying.
const PF_EXITING: u64 = 0x4;

/// A run's token: letters and digits, random, unique to the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTag(String);

impl RunTag {
    /// A fresh random token.
    pub fn random() -> Self {
        let token = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(TOKEN_LEN)
            .map(char::from)
            .collect();
        RunTag(token)
    }

    /// A token read back (by the watchdog): letters and digits only, so it
    /// can never match more than the run's own tags.
    pub fn parse(token: &str) -> Option<Self> {
        let ok = !token.is_empty()
            && token.len() <= 64
            && token.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then(|| RunTag(token.to_string()))
    }

    /// The token itself.
    pub fn token(&self) -> &str {
        &self.0
    }

    /// The value of [`RUN_VAR`] for command `n` of the run.
    pub fn command(&self, n: u64) -> String {
        format!("{}.{n}", self.0)
    }

    /// Which command of this run an environment block (`/proc/PID/environ`)
    /// names: `None` if it does not carry this run's tag, `Some(None)` if it
    /// does but the command part is not a number.
    fn command_in(&self, environ: &[u8]) -> Option<Option<u64>> {
        let prefix = format!("{RUN_VAR}={}", self.0);
        // The first entry wins, as with getenv(3).
        let entry = environ
            .split(|&b| b == 0)
            .find(|e| e.starts_with(format!("{RUN_VAR}=").as_bytes()))?;
        let rest = entry.strip_prefix(prefix.as_bytes())?;
        match rest.split_first() {
            None => Some(None),
            Some((b'.', n)) => Some(std::str::from_utf8(n).ok().and_then(|n| n.parse().ok())),
            Some(_) => None,
        }
    }

    fn tags(&self, pid: i32) -> Option<Option<u64>> {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        self.command_in(&environ)
    }
}

/// How many runs want this process to be a subreaper (runs of a library
/// user may overlap; the flag is the process's).
static SUBREAPER_USERS: Mutex<usize> = Mutex::new(0);

/// Makes this process a child subreaper: orphaned descendants are
/// reparented to it instead of init.
pub fn become_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)
}

/// The supervisor's side: the run's tag, and sweeps of what ended commands
/// left behind. The process is a subreaper for as long as a `Reaper` lives.
#[derive(Debug)]
pub struct Reaper {
    tag: RunTag,
    me: i32,
    last_sweep: Option<Instant>,
    /// A leftover was seen: from then on, sweep after every command.
    seen: bool,
}

impl Reaper {
    /// Makes this process a subreaper and draws the run's tag.
    pub fn start() -> io::Result<Self> {
        let mut users = SUBREAPER_USERS.lock().unwrap_or_else(|e| e.into_inner());
        if *users == 0 {
            become_subreaper()?;
        }
        *users += 1;
        Ok(Reaper {
            tag: RunTag::random(),
            me: platform::current_pid(),
            last_sweep: None,
            seen: false,
        })
    }

    /// The run's tag.
    pub fn tag(&self) -> &RunTag {
        &self.tag
    }

    /// A sweep after a command ended: at once if leftovers were seen in this
    /// run or none ran for [`SWEEP_EVERY`], otherwise nothing. Returns how
    /// many processes were killed.
    pub fn after_command(&mut self, live: &HashSet<u64>, now: Instant) -> u64 {
        let due = self
            .last_sweep
            .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY);
        if self.seen || due {
            self.last_sweep = Some(now);
            return self.sweep(live);
        }
        0
    }

    /// Kills every leftover of a command not in `live` (command numbers),
    /// with its subtree, and reaps orphans' zombies. Returns how many
    /// processes were killed.
    pub fn sweep(&mut self, live: &HashSet<u64>) -> u64 {
        let mut killed = HashSet::new();
        for _ in 0..MAX_PASSES {
            if self.pass(live, &mut killed) == 0 {
                break;
            }
        }
        self.seen |= !killed.is_empty();
        wait_dead(&killed);
        killed.len() as u64
    }

    /// One pass: returns how many processes it killed.
    fn pass(&self, live: &HashSet<u64>, killed: &mut HashSet<i32>) -> usize {
        let table = ProcTable::scan();
        // Read after the scan: a child missing from it was not being spawned
        // when the scan saw it, so it is an orphan.
        let spawned = super::spawned_children();
        let mut new = 0;
        for orphan in table.children(self.me) {
            let Some(p) = table.get(orphan).filter(|_| !spawned.contains(&orphan)) else {
                continue;
            };
            if p.zombie {
                reap(orphan);
            } else if self.is_leftover(orphan, live) {
                new += kill_subtree(&table, orphan, killed);
            }
        }
        new
    }

    /// Whether `pid` carries this run's tag, of a command that is over.
    fn is_leftover(&self, pid: i32, live: &HashSet<u64>) -> bool {
        match self.tag.tags(pid) {
            Some(Some(n)) => !live.contains(&n),
            Some(None) => true,
            None => false,
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let mut users = SUBREAPER_USERS.lock().unwrap_or_else(|e| e.into_inner());
        *users = users.saturating_sub(1);
        if *users == 0 {
            // Later orphans (a built-in run's) go back to init, which reaps them.
            let _ = nix::sys::prctl::set_child_subreaper(false);
        }
    }
}

/// Kills `root`, its process group if it leads one, and every descendant,
/// except those already dying. Returns how many it killed.
fn kill_subtree(table: &ProcTable, root: i32, killed: &mut HashSet<i32>) -> usize {
    // Decide before any signal: after the group kill everyone looks dying.
    let victims: Vec<i32> = table
        .subtree(root)
        .into_iter()
        .filter(|pid| !killed.contains(pid) && !table.get(*pid).is_some_and(|p| p.dying()))
        .filter(|pid| !kill_pending(*pid))
        .collect();
    if table.get(root).is_some_and(|p| p.pgid == root) {
        // Its pid is not reused while it lives, so the group is its own.
        let _ = SignalTarget::Group(root).send(Signal::SIGKILL);
    }
    for &pid in &victims {
        let _ = SignalTarget::Process(pid).send(Signal::SIGKILL);
        killed.insert(pid);
    }
    victims.len()
}

/// How long a sweep waits for what it killed to be dead.
const DEATH_GRACE: Duration = Duration::from_secs(5);

/// Waits (at most [`DEATH_GRACE`]) until every process in `killed` is gone
/// or a zombie, reaping those that are this process's children: a sweep
/// returns once what it killed is dead, not merely signalled, so nothing of
/// it outlives the run that ends right after.
fn wait_dead(killed: &HashSet<i32>) {
    let deadline = Instant::now() + DEATH_GRACE;
    let mut left: Vec<i32> = killed.iter().copied().collect();
    while !left.is_empty() && Instant::now() < deadline {
        left.retain(|&pid| {
            reap(pid);
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat"));
            state.is_ok_and(|s| {
                let after = s.rsplit(')').next().unwrap_or("").trim_start();
                !after.starts_with('Z') && !after.starts_with('X')
            })
        });
        if !left.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Reaps the zombie of an orphan (never blocks).
fn reap(pid: i32) {
    let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
}

/// Whether SIGKILL is pending for `pid` (sent, not yet acted on).
fn kill_pending(pid: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let bit = 1u64 << (libc::SIGKILL - 1);
    status
        .lines()
        .filter_map(|l| {
            l.strip_prefix("SigPnd:")
                .or_else(|| l.strip_prefix("ShdPnd:"))
        })
        .filter_map(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .any(|mask| mask & bit != 0)
}

/// The watchdog's last resort when the supervisor is gone: SIGKILLs every
/// process whose environment carries `tag`'s token, pass after pass until a
/// pass finds none it had not killed (at most [`MAX_PASSES`]).
pub fn kill_tagged(tag: &RunTag) {
    let mut killed = HashSet::new();
    for _ in 0..MAX_PASSES {
        let found: Vec<i32> = pids()
            .filter(|pid| !killed.contains(pid) && tag.tags(*pid).is_some())
            .collect();
        if found.is_empty() {
            return;
        }
        for pid in found {
            let _ = SignalTarget::Process(pid).send(Signal::SIGKILL);
            killed.insert(pid);
        }
    }
}

/// The pids in `/proc`.
fn pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
}

/// One process as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Proc {
    ppid: i32,
    pgid: i32,
    zombie: bool,
    flags: u64,
}

impl Proc {
    /// Parses `/proc/PID/stat`: the fields after the command name, which is
    /// in parentheses and may itself contain spaces and parentheses.
    fn parse(stat: &str) -> Option<Self> {
        let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
        let state = fields.next()?;
        let ppid = fields.next()?.parse().ok()?;
        let pgid = fields.next()?.parse().ok()?;
        let flags = fields.nth(3)?.parse().ok()?;
        Some(Proc {
            ppid,
            pgid,
            zombie: matches!(state, "Z" | "X"),
            flags,
        })
    }

    fn dying(&self) -> bool {
        self.zombie || self.flags & PF_EXITING != 0
    }
}

/// A snapshot of the processes and their parent links.
struct ProcTable {
    procs: HashMap<i32, Proc>,
    children: HashMap<i32, Vec<i32>>,
}

impl ProcTable {
    fn scan() -> Self {
        let procs: HashMap<i32, Proc> = pids()
            .filter_map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                Some((pid, Proc::parse(&stat)?))
            })
            .collect();
        Self::new(procs)
    }

    fn new(procs: HashMap<i32, Proc>) -> Self {
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for (&pid, p) in &procs {
            children.entry(p.ppid).or_default().push(pid);
        }
        ProcTable { procs, children }
    }

    fn get(&self, pid: i32) -> Option<&Proc> {
        self.procs.get(&pid)
    }

    fn children(&self, pid: i32) -> Vec<i32> {
        self.children.get(&pid).cloned().unwrap_or_default()
    }

    /// `root` and all its descendants, parents before children.
    fn subtree(&self, root: i32) -> Vec<i32> {
        let mut out = vec![root];
        let mut i = 0;
        while i < out.len() {
            out.extend(self.children(out[i]));
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_even_with_odd_command_names() {
        let line = "4242 (a b) (c)) S 17 4242 4242 0 -1 4194560 93 0 0 0";
        let p = Proc::parse(line).unwrap();
        assert_eq!(
            (p.ppid, p.pgid, p.zombie, p.flags),
            (17, 4242, false, 4194560)
        );
        assert!(!p.dying());
        let z = Proc::parse("7 (sh) Z 1 7 7 0 -1 4194308 0").unwrap();
        assert!(z.zombie && z.dying());
        let exiting = Proc::parse("7 (sh) R 1 7 7 0 -1 4194564 0").unwrap();
        assert!(exiting.dying());
        assert_eq!(Proc::parse("7 (sh"), None);
    }

    #[test]
    fn a_tag_names_its_run_and_command_and_nothing_else() {
        let tag = RunTag::parse("abc123").unwrap();
        let env = |s: &str| s.replace(' ', "\0").into_bytes();
        assert_eq!(tag.command(7), "abc123.7");
        assert_eq!(
            tag.command_in(&env("A=1 TORTURE_RUN=abc123.7 B=2")),
            Some(Some(7))
        );
        assert_eq!(tag.command_in(&env("TORTURE_RUN=abc123")), Some(None));
        assert_eq!(tag.command_in(&env("TORTURE_RUN=abc123.x")), Some(None));
        for other in [
            "TORTURE_RUN=abc1234.7",
            "TORTURE_RUN=abc12.7",
            "TORTURE_RUN=zzz.1 TORTURE_RUN=abc123.7",
            "XTORTURE_RUN=abc123.7",
            "",
        ] {
            assert_eq!(tag.command_in(&env(other)), None, "{other}");
        }
    }

    #[test]
    fn only_plain_tokens_are_accepted() {
        assert!(RunTag::parse("aZ09").is_some());
        for bad in ["", "a b", "a.b", "a\nb", "a=b", &"a".repeat(65)] {
            assert_eq!(RunTag::parse(bad), None, "{bad:?}");
        }
        let t = RunTag::random();
        assert_eq!(RunTag::parse(t.token()), Some(t.clone()));
        assert_ne!(RunTag::random(), t);
    }

    #[test]
    fn a_subtree_lists_parents_before_children() {
        let p = |ppid| Proc {
            ppid,
            pgid: 1,
            zombie: false,
            flags: 0,
        };
        let table = ProcTable::new(HashMap::from([(2, p(1)), (3, p(2)), (4, p(3)), (5, p(1))]));
        assert_eq!(table.subtree(2), vec![2, 3, 4]);
        let mut kids = table.children(1);
        kids.sort();
        assert_eq!(kids, vec![2, 5]);
    }
}
