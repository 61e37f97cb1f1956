//! One changing run at a time per cluster: `setup` and `teardown` hold a Lease
//! (coordination.k8s.io, `kube-system/kubectl-hyperpod-lock`) while they apply a plan. It names
//! the holder (user, host, pid), the command and the start; a thread renews it every 15 s and it
//! expires [`LEASE_SECONDS`] after the last renewal, so a dead holder does not block for long
//! (a lease found held is judged by its own renewTime + leaseDurationSeconds, at the moment of
//! taking the lock).
//! A second run finds it held, says by whom since when, and stops (exit 7) before changing
//! anything; `--force-unlock` takes it over. Planning, `--dry-run` and the read-only commands
//! never take it. Taking it is atomic: `kubectl create` (one wins, the other gets
//! AlreadyExists), a takeover a `kubectl replace` with the resourceVersion it read.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::exec::private::PrivateDir;
use crate::exec::{interrupt, Runner};
use crate::tools::kube::{self, str_at, KubeOpts, Obj};
use crate::Ctx;

pub(crate) const LEASE_NAME: &str = "kubectl-hyperpod-lock";
pub(crate) const LEASE_NAMESPACE: &str = "kube-system";
/// A lease not renewed for this long belongs to nobody.
pub(crate) const LEASE_SECONDS: i64 = 60;
const RENEW_EVERY: Duration = Duration::from_secs(15);
const ANN_COMMAND: &str = "kubectl-hyperpod.io/command";

/// The lock, held until dropped (then released).
pub(crate) struct ClusterLock {
    kube: KubeOpts,
    holder: String,
    /// Shares the run's Kubernetes credential (the renewal thread has one of its own).
    runner: Runner,
    stop: Arc<(Mutex<bool>, Condvar)>,
    renewer: Option<std::thread::JoinHandle<()>>,
    /// Releases the lock if a signal ends the process (no Drop runs then).
    on_interrupt: u64,
    /// A temporary kubeconfig the lock reads the cluster through, kept while it is held.
    _kubeconfig: Option<PrivateDir>,
}

/// Who we are, for the holder field: user@host pid N.
fn identity() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    format!("{user}@{host} pid {}", std::process::id())
}

fn lease(holder: &str, command: &str, acquired: &str, rv: Option<&str>) -> Value {
    let now = crate::time::format_rfc3339_micro(crate::time::now());
    let mut meta = json!({
        "name": LEASE_NAME,
        "namespace": LEASE_NAMESPACE,
        "labels": {crate::marks::LABEL_MANAGED.0: crate::marks::LABEL_MANAGED.1},
        "annotations": {ANN_COMMAND: command},
    });
    if let Some(rv) = rv {
        meta["resourceVersion"] = json!(rv);
    }
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": LEASE_SECONDS,
            "acquireTime": acquired,
            "renewTime": now,
        },
    })
}

fn get(runner: &Runner, kube: &KubeOpts) -> Result<Option<Value>> {
    let cmd = kube::if_any(kube::get_json(
        kube,
        "read the cluster's kubectl-hyperpod lock",
        Obj {
            resource: "lease",
            name: LEASE_NAME,
            ns: LEASE_NAMESPACE,
        },
    ));
    let out = runner.run(&cmd)?;
    if out.stdout.trim().is_empty() {
        return Ok(None);
    }
    crate::exec::parse_json(&cmd, &out.stdout).map(Some)
}

/// `create` (or, with the resourceVersion read, `replace`); false when another run won.
fn write(runner: &Runner, kube: &KubeOpts, verb: &str, doc: &Value) -> Result<bool> {
    let cmd = kube::create_or_replace(
        kube,
        verb == "replace",
        format!("{verb} the cluster's kubectl-hyperpod lock"),
        "lock lease",
        doc,
    );
    let out = runner.run_unchecked(&cmd)?;
    if out.success() {
        return Ok(true);
    }
    if out.stderr.contains("AlreadyExists")
        || out.stderr.contains("already exists")
        || out.stderr.contains("Conflict")
        || out.stderr.contains("the object has been modified")
    {
        return Ok(false);
    }
    Err(crate::exec::command_error(&cmd, &out))
}

/// Seconds since the lease was last renewed, if it says.
fn renewed_ago(l: &Value) -> Option<i64> {
    let t = str_at(l, "/spec/renewTime").or_else(|| str_at(l, "/spec/acquireTime"))?;
    Some(crate::time::now() - crate::time::parse_rfc3339(t)?)
}

/// Whether the lease has lapsed now, by its own terms: its last renewal plus its own
/// `leaseDurationSeconds` (another version of this tool may renew on another period; without a
/// duration, [`LEASE_SECONDS`]) is in the past. A lease that says neither belongs to nobody.
fn expired(l: &Value) -> bool {
    renewed_ago(l).is_none_or(|ago| ago > duration(l))
}

fn duration(l: &Value) -> i64 {
    l.pointer("/spec/leaseDurationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(LEASE_SECONDS)
}

fn held_error(l: &Value) -> Error {
    let ago = renewed_ago(l);
    Error::Locked {
        holder: str_at(l, "/spec/holderIdentity")
            .unwrap_or("an unknown holder")
            .to_string(),
        command: str_at(
            l,
            &format!("/metadata/annotations/{}", ANN_COMMAND.replace('/', "~1")),
        )
        .unwrap_or("run")
        .to_string(),
        since: str_at(l, "/spec/acquireTime")
            .unwrap_or("an unknown time")
            .to_string(),
        renewed: ago.map_or("an unknown time".into(), crate::time::human),
        lapses_after: duration(l),
    }
}

impl ClusterLock {
    /// Takes the lock for `command` through `kube`, or says who holds it. `force` takes over a
    /// lock whoever holds it. `kubeconfig` (a temporary one `kube` points into) is kept alive.
    pub(crate) fn acquire(
        ctx: &Ctx,
        kube: KubeOpts,
        kubeconfig: Option<PrivateDir>,
        command: &str,
        force: bool,
    ) -> Result<ClusterLock> {
        let runner = &ctx.runner;
        let holder = identity();
        let acquired = crate::time::format_rfc3339_micro(crate::time::now());
        let mut won = write(
            runner,
            &kube,
            "create",
            &lease(&holder, command, &acquired, None),
        )?;
        if !won {
            let Some(current) = get(runner, &kube)? else {
                // Released between our create and our read: try once more.
                return Self::acquire(ctx, kube, kubeconfig, command, force);
            };
            // Judged now, after planning, from the lease as just read.
            let expired = expired(&current);
            if !(force || expired) {
                return Err(held_error(&current));
            }
            if !expired {
                ctx.ui.warn(&format!(
                    "--force-unlock: taking the lock over from {}",
                    str_at(&current, "/spec/holderIdentity").unwrap_or("an unknown holder")
                ));
            }
            let rv = str_at(&current, "/metadata/resourceVersion");
            won = write(
                runner,
                &kube,
                "replace",
                &lease(&holder, command, &acquired, rv),
            )?;
            if !won {
                // Someone else took it over at the same moment.
                return Err(match get(runner, &kube)? {
                    Some(l) => held_error(&l),
                    None => Error::failed(
                        "the cluster's lock changed hands while taking it; run again",
                        None,
                    ),
                });
            }
        }
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let renewer = {
            let (kube, holder, command, acquired) = (
                kube.clone(),
                holder.clone(),
                command.to_string(),
                acquired.clone(),
            );
            let stop = Arc::clone(&stop);
            let runner = runner.sharing_credentials(false);
            std::thread::spawn(move || {
                renew_until_stopped(&runner, &kube, &holder, &command, &acquired, &stop)
            })
        };
        // With the run's credential: a hook has 1.5 s, no time for a credential plugin.
        let release = runner.argv_for(&release_cmd(&kube));
        let on_interrupt = interrupt::on_stop(Box::new(move || interrupt::run_briefly(&release)));
        Ok(ClusterLock {
            kube,
            holder,
            runner: runner.sharing_credentials(false),
            stop,
            renewer: Some(renewer),
            on_interrupt,
            _kubeconfig: kubeconfig,
        })
    }
}

fn renew_until_stopped(
    runner: &Runner,
    kube: &KubeOpts,
    holder: &str,
    command: &str,
    acquired: &str,
    stop: &(Mutex<bool>, Condvar),
) {
    let (lock, cv) = stop;
    let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let (s, _) = cv
            .wait_timeout(stopped, RENEW_EVERY)
            .unwrap_or_else(|e| e.into_inner());
        stopped = s;
        if *stopped {
            return;
        }
        // Renewed only while it is still ours (a --force-unlock elsewhere ends that).
        if let Ok(Some(l)) = get(runner, kube) {
            if str_at(&l, "/spec/holderIdentity") == Some(holder) {
                let rv = str_at(&l, "/metadata/resourceVersion");
                let _ = write(
                    runner,
                    kube,
                    "replace",
                    &lease(holder, command, acquired, rv),
                );
            }
        }
    }
}

fn release_cmd(kube: &KubeOpts) -> crate::exec::Cmd {
    let delete = kube::delete(
        kube,
        "release the cluster's kubectl-hyperpod lock",
        "lease",
        &[LEASE_NAME],
        Some(LEASE_NAMESPACE),
        kube::Deletion::IF_ANY,
    );
    // Not a change of the plan's: the lock's own release, as it always ran.
    crate::exec::Cmd {
        mutating: false,
        ..delete
    }
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        interrupt::remove_hook(self.on_interrupt);
        let (lock, cv) = &*self.stop;
        if let Ok(mut s) = lock.lock() {
            *s = true;
        }
        cv.notify_all();
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
        // Released only if still ours.
        let runner = &self.runner;
        if let Ok(Some(l)) = get(runner, &self.kube) {
            if str_at(&l, "/spec/holderIdentity") == Some(self.holder.as_str()) {
                let _ = runner.run(&release_cmd(&self.kube));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(renewed_ago: i64, duration: Option<i64>) -> Value {
        let renewed = crate::time::format_rfc3339_micro(crate::time::now() - renewed_ago);
        let mut l = json!({"spec": {"holderIdentity": "x", "renewTime": renewed}});
        if let Some(d) = duration {
            l["spec"]["leaseDurationSeconds"] = json!(d);
        }
        l
    }

    #[test]
    fn a_lease_lapses_by_its_own_duration_after_its_last_renewal() {
        assert!(!expired(&held(600, Some(3600))));
        assert!(expired(&held(600, Some(60))));
        assert!(!expired(&held(5, Some(60))));
        // Without a duration, ours.
        assert!(!expired(&held(LEASE_SECONDS - 10, None)));
        assert!(expired(&held(LEASE_SECONDS + 10, None)));
        // Saying nothing about its renewal, it belongs to nobody.
        assert!(expired(&json!({"spec": {"holderIdentity": "x"}})));
        let Error::Locked { lapses_after, .. } = held_error(&held(5, Some(3600))) else {
            panic!("not Locked");
        };
        assert_eq!(lapses_after, 3600);
    }
}
