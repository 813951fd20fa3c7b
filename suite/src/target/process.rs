//! Process groups: exit checks, group kill, and the signal cleanup that stops emulators
//! on Ctrl-C.

use std::io;
use std::process::{Child, ExitStatus};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

// ------------------------------------------------------------------------------------------------
// Processes: exit checks, group kill, signal cleanup.

/// The state of a process group's leader, read without reaping it: an unreaped leader keeps its
/// pid, which is the group id, from being reused, so signalling the group cannot hit a stranger.
#[derive(Clone, Copy)]
enum Leader {
    Running,
    /// Exited with this status.
    Exited(i32),
    /// Killed by this signal.
    Killed(Signal),
    /// Reaped already, or never our child.
    Gone,
}

fn leader_state(pid: u32) -> Leader {
    let Ok(pid) = i32::try_from(pid) else {
        return Leader::Gone;
    };
    // WNOWAIT leaves the child waitable for Child::wait.
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    match waitid(Id::Pid(Pid::from_raw(pid)), flags) {
        Err(_) => Leader::Gone,
        Ok(WaitStatus::StillAlive) => Leader::Running,
        Ok(WaitStatus::Exited(_, status)) => Leader::Exited(status),
        Ok(WaitStatus::Signaled(_, signal, _core_dumped)) => Leader::Killed(signal),
        // Only reported with WSTOPPED, WCONTINUED or under ptrace, none of which is asked for:
        // the leader has not ended.
        Ok(
            WaitStatus::Stopped(..)
            | WaitStatus::Continued(_)
            | WaitStatus::PtraceEvent(..)
            | WaitStatus::PtraceSyscall(_),
        ) => Leader::Running,
    }
}

/// How the leader ended, for messages; `None` while it runs.
pub(super) fn leader_exit(pid: u32) -> Option<String> {
    match leader_state(pid) {
        Leader::Running => None,
        Leader::Gone => Some("no longer a child of this process".to_string()),
        Leader::Exited(status) => Some(format!("exit status {status}")),
        Leader::Killed(signal) => Some(format!("killed by signal {}", signal as i32)),
    }
}

fn group(pgid: u32) -> Option<Pid> {
    i32::try_from(pgid).ok().map(Pid::from_raw)
}

fn signal_group(pgid: u32, signal: Signal) {
    // ESRCH (the group is gone already) is the expected outcome of a clean exit.
    if let Some(pgid) = group(pgid) {
        let _ = killpg(pgid, signal);
    }
}

fn group_exists(pgid: u32) -> bool {
    // Signal 0 (`None`) only checks whether the group exists.
    group(pgid).is_some_and(|pgid| killpg(pgid, None) != Err(Errno::ESRCH))
}

pub(super) fn kill_group_and_reap(
    child: &mut Child,
    pid: u32,
    grace: Duration,
) -> io::Result<ExitStatus> {
    signal_group(pid, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while matches!(leader_state(pid), Leader::Running) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(25));
    }
    // Also after a clean exit: helpers the leader left behind die with the group. The leader
    // is not reaped yet, so the group id still names our group.
    signal_group(pid, Signal::SIGKILL);
    let status = child.wait()?;
    // SIGKILLed helpers are reaped by init; wait briefly so that callers see the group gone.
    let deadline = Instant::now() + Duration::from_secs(2);
    while group_exists(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(status)
}

pub(super) fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended".to_string(),
    }
}

/// Process groups of running emulators, for the signal cleanup. The cleanup runs on a thread of
/// its own (signal-hook's iterator), not in a signal handler, so a plain lock is fine.
static RUNNING_GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn running_groups() -> std::sync::MutexGuard<'static, Vec<u32>> {
    // A panic while the list was held leaves a list that is still a list of pids.
    RUNNING_GROUPS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(super) fn register_group(pid: u32) {
    running_groups().push(pid);
}

pub(super) fn unregister_group(pid: u32) {
    running_groups().retain(|&g| g != pid);
}

/// Installs a SIGINT / SIGTERM / SIGHUP handler (once; later calls do nothing) that stops every
/// running emulator's process group (SIGTERM, up to 2 s, SIGKILL) and exits with 128 + the
/// signal number: 130 for Ctrl-C. Emulators run in their own process groups, so without this
/// a Ctrl-C would end the runner and leave them running. Once installed, those signals no
/// longer end the process by their default action; call it early in `main` or a test harness.
pub fn install_signal_cleanup() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            Ok(s) => s,
            Err(e) => {
                // Emulators are still stopped on stop(), drop and panic; only Ctrl-C leaks them.
                tracing::warn!(error = %e, "cannot install the signal cleanup of emulators");
                return;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("cogcheck-signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    cleanup_and_exit(signal);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the signal cleanup thread");
        }
    });
}

fn cleanup_and_exit(signal: i32) -> ! {
    let groups = running_groups().clone();
    for &pgid in &groups {
        signal_group(pgid, Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline
        && groups
            .iter()
            .any(|&pgid| matches!(leader_state(pgid), Leader::Running))
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &pgid in &groups {
        signal_group(pgid, Signal::SIGKILL);
    }
    // Like `_exit`: no atexit handlers or destructors while other threads still run.
    signal_hook::low_level::exit(128 + signal)
}
