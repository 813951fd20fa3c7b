//! Process groups: exit checks, group kill, and the signal cleanup that stops emulators
//! on Ctrl-C.

use std::io::{self};
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------------------------
// Processes: exit checks, group kill, signal cleanup.

/// The state of a process group's leader, read without reaping it: an unreaped leader keeps its
/// pid, which is the group id, from being reused, so signalling the group cannot hit a stranger.
#[derive(Clone, Copy)]
enum Leader {
    Running,
    /// `code` is waitid's `si_code` (CLD_EXITED, CLD_KILLED, ...), `status` the exit status or
    /// signal number.
    Ended {
        code: libc::c_int,
        status: libc::c_int,
    },
    /// Reaped already, or never our child.
    Gone,
}

/// Allocation-free, so the signal handler may call it.
fn leader_state(pid: u32) -> Leader {
    let id = libc::id_t::from(pid);
    // SAFETY: siginfo_t is plain data; all-zero is a valid value and lets WNOHANG's "no change"
    // be seen as si_pid == 0.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes only into `info`; WNOWAIT leaves the child waitable for Child::wait.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            id,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        return Leader::Gone;
    }
    // SAFETY: the fields of a SIGCHLD siginfo, filled in by waitid above.
    let (si_pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if si_pid == 0 {
        Leader::Running
    } else {
        Leader::Ended {
            code: info.si_code,
            status,
        }
    }
}

/// How the leader ended, for messages; `None` while it runs.
pub(super) fn leader_exit(pid: u32) -> Option<String> {
    match leader_state(pid) {
        Leader::Running => None,
        Leader::Gone => Some("no longer a child of this process".to_string()),
        Leader::Ended { code, status } => Some(match code {
            libc::CLD_EXITED => format!("exit status {status}"),
            libc::CLD_KILLED | libc::CLD_DUMPED => format!("killed by signal {status}"),
            _ => format!("ended ({status})"),
        }),
    }
}

fn signal_group(pgid: u32, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: kill with a negative pid signals the process group; no memory is involved.
    // ESRCH (the group is gone already) is the expected outcome of a clean exit.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

fn group_exists(pgid: u32) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    // SAFETY: signal 0 only checks whether the group exists.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

pub(super) fn kill_group_and_reap(
    child: &mut Child,
    pid: u32,
    grace: Duration,
) -> io::Result<ExitStatus> {
    signal_group(pid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while matches!(leader_state(pid), Leader::Running) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(25));
    }
    // Also after a clean exit: helpers the leader left behind die with the group. The leader
    // is not reaped yet, so the group id still names our group.
    signal_group(pid, libc::SIGKILL);
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

/// Process groups of running emulators, for the signal handler. A fixed array of atomics
/// because a signal handler may neither lock nor allocate; 0 marks a free slot.
static RUNNING_GROUPS: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];

pub(super) fn register_group(pid: u32) {
    let Ok(pgid) = i32::try_from(pid) else {
        return;
    };
    // With every slot taken, the group is still stopped on stop() and drop, just not on Ctrl-C.
    for slot in &RUNNING_GROUPS {
        if slot
            .compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

pub(super) fn unregister_group(pid: u32) {
    let Ok(pgid) = i32::try_from(pid) else {
        return;
    };
    for slot in &RUNNING_GROUPS {
        let _ = slot.compare_exchange(pgid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Installs a SIGINT / SIGTERM / SIGHUP handler (once; later calls do nothing) that stops every
/// running emulator's process group (SIGTERM, up to 2 s, SIGKILL) and exits with 128 + the
/// signal number: 130 for Ctrl-C. Emulators run in their own process groups, so without this
/// a Ctrl-C would end the runner and leave them running. It replaces earlier handlers of those
/// signals; call it early in `main` or a test harness.
pub fn install_signal_cleanup() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction with an empty mask and our handler is a valid argument;
            // the handler only makes async-signal-safe calls (kill, waitid, nanosleep, _exit).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = cleanup_and_exit as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

extern "C" fn cleanup_and_exit(signal: libc::c_int) {
    for slot in &RUNNING_GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe { libc::kill(-pgid, libc::SIGTERM) };
        }
    }
    let pause = libc::timespec {
        tv_sec: 0,
        tv_nsec: 50_000_000,
    };
    for _ in 0..40 {
        let all_exited = RUNNING_GROUPS.iter().all(|slot| {
            let pgid = slot.load(Ordering::SeqCst);
            pgid <= 0
                || u32::try_from(pgid)
                    .map_or(true, |pid| !matches!(leader_state(pid), Leader::Running))
        });
        if all_exited {
            break;
        }
        // SAFETY: nanosleep is async-signal-safe; `pause` outlives the call.
        unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
    }
    for slot in &RUNNING_GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
    // SAFETY: _exit is async-signal-safe and skips atexit handlers that may not be.
    unsafe { libc::_exit(128 + signal) };
}
