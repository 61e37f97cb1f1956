//! Interrupts: on SIGINT (Ctrl-C) or SIGTERM the tool stops every command it started, removes
//! its private temporary files, says which step and command were cut short and what they may
//! have left, and exits 130 or 143.
//!
//! Every child runs in its own process group (so a terminal's Ctrl-C reaches only us, and we
//! decide): it gets SIGTERM with [`GRACE`] to finish cleanly (helm then marks its release
//! failed instead of leaving it pending), then SIGKILL. A second signal skips the grace. Then
//! the registered hooks run (the cluster lock is released), and temporary files go.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Cmd;

/// How long children get after SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_millis(2500);
/// How long a hook's command may take (the whole stop stays well under 5 s).
pub const HOOK_DEADLINE: Duration = Duration::from_millis(1500);

/// A command running now, by the pid of its process (also its process group).
struct Running {
    step: Option<&'static str>,
    purpose: String,
    argv: String,
    mutating: bool,
}

static RUNNING: Mutex<BTreeMap<u32, Running>> = Mutex::new(BTreeMap::new());
/// What else must be undone when a signal ends the process (e.g. releasing the cluster lock).
type Hook = Box<dyn Fn() + Send>;
static HOOKS: Mutex<BTreeMap<u64, Hook>> = Mutex::new(BTreeMap::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static STEP: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Runs `f` with commands it starts attributed to plan step `id` (for the interrupt report).
pub fn in_step<T>(id: &'static str, f: impl FnOnce() -> T) -> T {
    let before = STEP.with(|s| s.replace(Some(id)));
    let out = f();
    STEP.with(|s| s.set(before));
    out
}

/// Whether a signal has asked the process to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Registers `f` to run when a signal stops the process; returns its id for [`remove_hook`].
pub fn on_stop(f: Hook) -> u64 {
    let mut hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
    let id = hooks.keys().next_back().map_or(0, |k| k + 1);
    hooks.insert(id, f);
    id
}

pub fn remove_hook(id: u64) {
    HOOKS.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
}

/// Runs `argv` (outside the runner, which starts nothing once interrupted) for at most
/// [`HOOK_DEADLINE`], silently: for hooks.
pub fn run_briefly(argv: &[String]) {
    let Some((program, args)) = argv.split_first() else {
        return;
    };
    use std::os::unix::process::CommandExt as _;
    // Its own process group, so that what it starts (a credential plugin) goes with it.
    let Ok(mut child) = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
    else {
        return;
    };
    let deadline = Instant::now() + HOOK_DEADLINE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            signal_groups(&[child.id() as i32], libc::SIGKILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    signal_groups(&[child.id() as i32], libc::SIGKILL);
    let _ = child.wait();
}

/// Once a signal has come, the thread that calls this stops here for good: the handler is
/// stopping the process, and nothing may print a second report or exit with another code.
pub fn park_if_interrupted() {
    while interrupted() {
        std::thread::park();
    }
}

/// Starts a child through `spawn` (which returns it and its pids) and registers it, unless an
/// interrupt came first: then nothing starts (None). The lock makes the two atomic, so a signal
/// never misses a child started at the same moment.
pub(super) fn start<H>(
    cmd: &Cmd,
    spawn: impl FnOnce() -> std::io::Result<(H, Vec<u32>)>,
) -> Option<std::io::Result<(H, Vec<u32>)>> {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    if interrupted() {
        return None;
    }
    let res = spawn();
    if let Ok((_, pids)) = &res {
        for pid in pids {
            running.insert(
                *pid,
                Running {
                    step: STEP.with(Cell::get),
                    purpose: cmd.purpose.clone(),
                    argv: cmd.display(),
                    mutating: cmd.mutating,
                },
            );
        }
    }
    Some(res)
}

/// Kills the process groups the runner's children lead (each child leads its own).
pub(super) fn kill_groups(pids: &[u32]) {
    let groups: Vec<i32> = pids.iter().map(|p| *p as i32).collect();
    signal_groups(&groups, libc::SIGKILL);
}

/// The child ended (or was reaped).
pub(super) fn ended(pids: &[u32]) {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    for pid in pids {
        running.remove(pid);
    }
}

/// Installs the handler (once, from `main`): a thread that waits for SIGINT/SIGTERM.
pub fn install() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        let Some(sig) = signals.forever().next() else {
            return;
        };
        let second = || signals.pending().next().is_some();
        let code = stop(sig, second);
        std::process::exit(code);
    });
}

/// Stops everything and reports; returns the exit code (130 for SIGINT, 143 for SIGTERM).
fn stop(sig: i32, mut second_signal: impl FnMut() -> bool) -> i32 {
    let name = if sig == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    let cut: Vec<(u32, Running)> = {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        INTERRUPTED.store(true, Ordering::SeqCst);
        std::mem::take(&mut *running).into_iter().collect()
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "\ninterrupted ({name}): stopping {} running command(s)...",
        cut.len()
    );
    let groups: Vec<i32> = cut.iter().map(|(pid, _)| *pid as i32).collect();
    signal_groups(&groups, libc::SIGTERM);
    let deadline = Instant::now() + GRACE;
    while groups.iter().any(|g| group_alive(*g)) && Instant::now() < deadline && !second_signal() {
        std::thread::sleep(Duration::from_millis(20));
    }
    signal_groups(&groups, libc::SIGKILL);
    let hooks = std::mem::take(&mut *HOOKS.lock().unwrap_or_else(|e| e.into_inner()));
    for hook in hooks.values() {
        hook();
    }
    let removed = super::private::remove_all();
    for (_, r) in &cut {
        let step = r.step.map(|s| format!("step {s}: ")).unwrap_or_default();
        let _ = writeln!(err, "  interrupted {step}{} (`{}`)", r.purpose, r.argv);
        if let Some(left) = what_it_may_leave(r) {
            let _ = writeln!(err, "    {left}");
        }
    }
    if !removed.is_empty() {
        let _ = writeln!(err, "  removed {} temporary director(ies)", removed.len());
    }
    let again = std::env::args()
        .nth(1)
        .map(|c| format!("`kubectl hyperpod {c}` again"))
        .unwrap_or_else(|| "the command again".into());
    let _ = writeln!(
        err,
        "  nothing else was started; run {again}: it checks what is in place and carries on"
    );
    if sig == libc::SIGINT {
        crate::error::exit::INTERRUPTED_SIGINT
    } else {
        crate::error::exit::INTERRUPTED_SIGTERM
    }
}

/// What an interrupted command may have left, for the report.
fn what_it_may_leave(r: &Running) -> Option<String> {
    if r.argv.starts_with("helm upgrade") {
        return Some(
            "the Helm release may be left pending-install or pending-upgrade; the next setup repairs it".into(),
        );
    }
    r.mutating
        .then(|| "this change may or may not have been made; re-running converges".into())
}

fn signal_groups(groups: &[i32], sig: i32) {
    for g in groups {
        // SAFETY: kill(2) on a process group this process created (the child's own group).
        unsafe { libc::kill(-*g, sig) };
    }
}

/// Whether any process of the group still exists (zombies included, until reaped).
fn group_alive(group: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(-group, 0) == 0 }
}
