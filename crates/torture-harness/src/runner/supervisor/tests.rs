//! Unit tests of the event loop through its seams: a fake driver whose
//! processes do not exist, a scripted kill schedule, and a fake clock that
//! moves only when a test says, so no test spawns anything or sleeps.

use std::cell::RefCell;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::report::StopReason;

use crate::runner::protocol::Message;
use crate::runner::{KillPoint, KillSchedule};

use super::Supervisor;
use super::clock::{Clock, FakeClock};
use super::driver::Driver;
use super::events::{Child, ChildId, Event};
use super::slot::{Process, Running};
use crate::config::{KillAt, Minimums, RunConfig, RunLength, Workload};
use crate::vocab::OpId;
use crate::vocab::{Seq, ViolationKind};

/// What the fake driver was asked to do.
#[derive(Default)]
struct Log {
    /// The slots whose writer was started, in order.
    spawned: Vec<usize>,
    /// The signals sent, with the slot of the writer they went to.
    signals: Vec<(usize, Signal)>,
    /// The checks requested, by who asked.
    checks: Vec<String>,
}

/// A writer that does not exist: its signals are logged, and it dies of
/// SIGKILL if it got one, else exits 0.
struct FakeProcess {
    slot: usize,
    log: Rc<RefCell<Log>>,
}

impl FakeProcess {
    fn status(&self) -> ExitStatus {
        let log = self.log.borrow();
        let killed = log
            .signals
            .iter()
            .any(|&(s, sig)| s == self.slot && sig == Signal::SIGKILL);
        ExitStatus::from_raw(if killed { libc::SIGKILL } else { 0 })
    }
}

impl Process for FakeProcess {
    fn pid(&self) -> i32 {
        -1
    }

    fn signal(&self, signal: Signal) -> std::io::Result<()> {
        self.log.borrow_mut().signals.push((self.slot, signal));
        Ok(())
    }

    fn kill_group(&self) {}

    fn wait(self: Box<Self>) -> std::io::Result<ExitStatus> {
        Ok(self.status())
    }

    fn finish(self: Box<Self>) -> std::io::Result<ExitStatus> {
        Ok(self.status())
    }
}

/// Writers that run many operations each, as the built-in driver's do,
/// and checks that are only logged.
struct FakeDriver {
    log: Rc<RefCell<Log>>,
}

impl Driver for FakeDriver {
    fn prepare(_sup: &mut Supervisor<'_, Self>) -> Result<(), crate::Error> {
        Ok(())
    }

    fn spawn_writer(sup: &mut Supervisor<'_, Self>, slot: usize) -> Result<(), crate::Error> {
        let log = Rc::clone(&sup.driver.log);
        log.borrow_mut().spawned.push(slot);
        sup.writers[slot].running = Some(Running {
            process: Box::new(FakeProcess { slot, log }),
            generation: sup.next_generation(),
        });
        Ok(())
    }

    fn spawn_reader(_sup: &mut Supervisor<'_, Self>, _index: usize) -> Result<(), crate::Error> {
        Ok(())
    }

    fn on_eof(sup: &mut Supervisor<'_, Self>, id: ChildId) {
        if let Child::Writer(slot) = id.child {
            sup.on_writer_exit(slot);
        }
    }

    fn request_check(sup: &mut Supervisor<'_, Self>, seen_by: String) {
        sup.driver.log.borrow_mut().checks.push(seen_by);
    }

    fn on_stop(_sup: &mut Supervisor<'_, Self>, _reason: StopReason) {}

    fn finish(_sup: &mut Supervisor<'_, Self>) {}
}

/// Kills exactly the operations listed, at their kill points.
struct Scripted(Vec<(usize, Seq, KillPoint)>);

impl KillSchedule for Scripted {
    fn decide(&mut self, slot: usize, seq: Seq) -> Option<KillPoint> {
        let listed = self.0.iter().find(|k| (k.0, k.1) == (slot, seq));
        listed.map(|k| k.2)
    }
}

/// Half way through the shortest recent operation.
const HALF_WAY: KillPoint = KillPoint {
    quantile: 0.0,
    fraction: 0.5,
};

const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One writer slot under a fake driver, a scripted schedule and a fake
/// clock.
struct Rig {
    sup: Supervisor<'static, FakeDriver>,
    clock: FakeClock,
    log: Rc<RefCell<Log>>,
}

impl Rig {
    fn new(kills: Vec<(usize, Seq, KillPoint)>) -> Self {
        let cfg = Box::leak(Box::new(RunConfig {
            workload: Workload::Builtin(crate::strategy::by_name("reference").expect("exists")),
            writers: 1,
            readers: 0,
            kill_rate: 0.5,
            kill_at: KillAt::Delay,
            length: RunLength::Duration(Duration::from_secs(3600)),
            payload: 0,
            seed: 1,
            dir: None,
            baseline: false,
            progress: false,
            announce: false,
            program: PathBuf::new(),
            op_timeout: Duration::from_secs(30),
            stall_timeout: STALL_TIMEOUT,
            artifacts: None,
            minimums: Minimums::default(),
            until_covered: None,
            power_loss: None,
        }));
        let log = Rc::new(RefCell::new(Log::default()));
        let clock = FakeClock::new();
        let driver = FakeDriver {
            log: Rc::clone(&log),
        };
        let dir = Path::new("/nonexistent/torture-unit-test");
        let schedule = Box::new(Scripted(kills));
        let mut sup = Supervisor::new(cfg, dir, driver, schedule, Arc::new(clock.clone()));
        sup.spawn_all().expect("fake writers start");
        Rig { sup, clock, log }
    }

    /// The current writer of slot 0.
    fn writer(&self) -> ChildId {
        let running = self.sup.writers[0].running.as_ref().expect("a writer");
        ChildId {
            child: Child::Writer(0),
            generation: running.generation,
        }
    }

    /// Posts `event` and lets the loop take one turn.
    fn post(&mut self, event: Event) {
        self.sup
            .tx
            .send(event)
            .expect("the loop holds the receiver");
        assert!(!self.sup.turn(), "the run goes on");
    }

    /// The writer says `msg` now.
    fn says(&mut self, msg: Message) {
        self.post(Event::Line(self.writer(), msg, self.clock.now()));
    }

    /// Moves the time on by `by` and lets the loop take one turn.
    fn after(&mut self, by: Duration) {
        self.clock.advance(by);
        assert!(!self.sup.turn(), "the run goes on");
    }

    /// Operation 0 takes 2 ms, so a kill half way lands 1 ms in.
    fn first_op_takes_2ms(&mut self) {
        self.says(Message::Begin(0));
        self.clock.advance(Duration::from_millis(2));
        self.says(Message::Ack(0, Duration::from_millis(2)));
    }
}

#[test]
fn a_kill_in_flight_makes_the_op_indeterminate_and_asks_for_a_check() {
    let mut rig = Rig::new(vec![(0, 1, HALF_WAY)]);
    rig.first_op_takes_2ms();
    rig.says(Message::Begin(1));
    rig.after(Duration::from_micros(999));
    assert!(rig.log.borrow().signals.is_empty(), "not before its time");
    rig.after(Duration::from_micros(1));
    assert_eq!(rig.log.borrow().signals, [(0, Signal::SIGKILL)]);
    assert_eq!(rig.sup.out.kills, 1);

    rig.post(Event::Eof(rig.writer()));
    let out = &rig.sup.out;
    assert_eq!((out.acked, out.indeterminate, out.kills_missed), (1, 1, 0));
    assert_eq!(rig.sup.ledgers[0].indeterminate, 1);
    assert_eq!(out.unexpected_exits, 0, "our own kill is expected");
    let log = rig.log.borrow();
    assert_eq!(
        log.checks,
        [format!("check after the death of {}", OpId::new(0, 1))]
    );
    assert_eq!(log.spawned, [0, 0], "the slot is respawned");
    assert_eq!(rig.sup.writers[0].next_seq, 2);
}

#[test]
fn a_kill_after_its_op_ended_counts_as_missed() {
    let mut rig = Rig::new(vec![(0, 1, HALF_WAY)]);
    rig.first_op_takes_2ms();
    rig.says(Message::Begin(1));
    rig.clock.advance(Duration::from_micros(500));
    rig.says(Message::Ack(1, Duration::from_micros(500)));
    rig.after(Duration::from_millis(1));
    let out = &rig.sup.out;
    assert_eq!((out.kills, out.kills_missed), (0, 1));
    assert_eq!((out.acked, out.indeterminate), (2, 0));
    let log = rig.log.borrow();
    assert!(log.signals.is_empty(), "nothing is killed");
    assert!(log.checks.is_empty(), "nothing to check");
}

#[test]
fn a_stall_is_found_at_the_stall_timeout_and_not_before() {
    let mut rig = Rig::new(Vec::new());
    rig.says(Message::Begin(0));
    rig.after(STALL_TIMEOUT - Duration::from_millis(1));
    assert!(rig.sup.stopping.is_none(), "not stalled yet");
    assert_eq!(rig.sup.verifier.count(ViolationKind::Stall), 0);
    rig.after(Duration::from_millis(1));
    assert_eq!(rig.sup.stopping.map(|s| s.0), Some(StopReason::Stalled));
    assert_eq!(rig.sup.verifier.count(ViolationKind::Stall), 1);
}
