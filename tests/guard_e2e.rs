//! Interrupted and broken runs: every temporary file the tool writes (invoke's body, setup's and
//! teardown's planning kubeconfig) is 0600 in a 0700 directory and none is left afterwards; a
//! Helm release an interrupted run left pending is repaired; SIGINT/SIGTERM stop setup within
//! 5 s with 130/143, no child left, and the next setup converges. Real tools against the
//! emulated cloud (tests/common).

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use common::{cloud, Sandbox, Spawned};
use serde_json::json;

/// A PATH directory whose aws/kubectl/helm first list every entry of our private temporary
/// directories under `$TMPDIR` (mode, type, path) into `modes.log`, then run the usual shim.
struct Watch {
    tmp: PathBuf,
    bin: PathBuf,
    log: PathBuf,
}

impl Watch {
    fn new(sb: &Sandbox) -> Watch {
        let tmp = sb.dir().join("tmp");
        let bin = sb.dir().join("watch-bin");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let log = sb.dir().join("modes.log");
        for tool in ["aws", "kubectl", "helm"] {
            let p = bin.join(tool);
            std::fs::write(
                &p,
                format!(
                    "#!/bin/sh\nfind '{tmp}' -mindepth 1 -path '{tmp}/kubectl-hyperpod-*' -printf '%m %y %p\\n' >> '{log}'\nexec '{shim}' \"$@\"\n",
                    tmp = tmp.display(),
                    log = log.display(),
                    shim = cloud().shim_dir.join(tool).display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Watch { tmp, bin, log }
    }

    fn env(&self, sb: &Sandbox) -> Vec<(String, String)> {
        let path = sb
            .env()
            .into_iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v)
            .unwrap();
        vec![
            ("PATH".into(), format!("{}:{path}", self.bin.display())),
            ("TMPDIR".into(), self.tmp.display().to_string()),
        ]
    }

    fn run(&self, sb: &Sandbox, args: &[&str]) -> common::Run {
        let env = self.env(sb);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        sb.hyperpod_with(args, &env)
    }

    /// Every entry seen while tools ran: (mode, type, path).
    fn seen(&self) -> Vec<(String, String, String)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let mut it = l.splitn(3, ' ');
                let (m, t, p) = (it.next(), it.next(), it.next());
                (m.unwrap().into(), t.unwrap().into(), p.unwrap().into())
            })
            .collect()
    }

    /// Nothing at all is left in TMPDIR: neither ours nor a file of a tool we stopped.
    #[track_caller]
    fn assert_empty(&self, after: &str) {
        let left: Vec<PathBuf> = std::fs::read_dir(&self.tmp)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR after {after}: {left:?}");
    }

    /// Nothing of ours is left in TMPDIR.
    #[track_caller]
    fn assert_clean(&self, after: &str) {
        let left: Vec<PathBuf> = std::fs::read_dir(&self.tmp)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("kubectl-hyperpod-")
            })
            .collect();
        assert!(left.is_empty(), "left behind after {after}: {left:?}");
    }
}

#[track_caller]
fn assert_private(seen: &[(String, String, String)], names: &[&str]) {
    for name in names {
        assert!(
            seen.iter()
                .any(|(_, t, p)| t == "f" && Path::new(p).ends_with(name)),
            "no temporary {name} was seen: {seen:?}"
        );
    }
    for (mode, kind, path) in seen {
        let want = if kind == "d" { "700" } else { "600" };
        assert_eq!(mode, want, "{path} ({kind}) has mode {mode}: {seen:?}");
    }
}

/// `setup ... --skip-test-deployment MODE` (`--yes` or `--dry-run`).
fn setup_args(sb: &Sandbox, mode: &str) -> Vec<String> {
    [
        "setup",
        "--hyperpod-cluster",
        &sb.hyperpod_cluster,
        "--s3-bucket",
        &sb.bucket,
        "--skip-test-deployment",
        mode,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn setup_and_teardown_keep_their_kubeconfigs_private_and_leave_nothing() {
    let sb = cloud().sandbox();
    let w = Watch::new(&sb);
    let args = setup_args(&sb, "--yes");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    // A failure after planning: the temporary kubeconfig goes on the error path too.
    let env = w.env(&sb);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("HP_FAIL_MATCH", "create-open-id-connect-provider"));
    let failed = sb.hyperpod_with(&a, &env);
    failed.exits(4);
    w.assert_clean("a failed setup");
    assert_private(&w.seen(), &["kubeconfig"]);

    w.run(&sb, &a).success();
    w.assert_clean("setup");
    assert_private(&w.seen(), &["kubeconfig"]);

    // Teardown reads the cluster through a temporary kubeconfig when the user's has no entry.
    std::fs::remove_file(&w.log).unwrap();
    let empty = sb.dir().join("empty-kubeconfig");
    std::fs::write(&empty, "").unwrap();
    let t = w.run(
        &sb,
        &[
            "teardown",
            "--hyperpod-cluster",
            &sb.hyperpod_cluster,
            "--kubeconfig",
            empty.to_str().unwrap(),
            "--yes",
        ],
    );
    t.success();
    w.assert_clean("teardown");
    assert_private(&w.seen(), &["kubeconfig"]);
}

#[test]
fn invoke_writes_its_body_privately_and_removes_it() {
    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    let crds = Sandbox::chart_dir().join("templates/crds");
    sb.kubectl(&["apply", "-f", crds.to_str().unwrap()])
        .success();
    sb.kube_config(json!({"modelOperator": "complete", "modelDelaySeconds": 0.1}));
    let w = Watch::new(&sb);
    sb.deploy_bert("m", &["--endpoint-name", "m-endpoint"])
        .success();
    w.run(&sb, &["invoke", "m", "--body", r#"{"inputs": "private"}"#])
        .success();
    w.assert_clean("invoke");
    assert_private(&w.seen(), &["body", "response"]);
    // A failing call removes them too.
    let env = w.env(&sb);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("HP_FAIL_MATCH", "invoke-endpoint"));
    sb.hyperpod_with(&["invoke", "m", "--body", "{}"], &env)
        .exits(4);
    w.assert_clean("a failed invoke");
}

/// Setup (`--yes`, then `extra`) started in its own process group (so the test can end it and
/// everything it started), with `env` over the sandbox's.
fn spawn_setup(sb: &Sandbox, extra: &[&str], env: &[(String, String)]) -> Spawned {
    let mut args = setup_args(sb, "--yes");
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sb.spawn_hyperpod(&args, &env)
}

/// The operator release's status (`deployed`, `pending-install` ...), if it exists.
fn release_status(sb: &Sandbox) -> Option<String> {
    let r = sb.helm(&[
        "status",
        "hyperpod-inference-operator",
        "-n",
        "kube-system",
        "-o",
        "json",
    ]);
    (r.code == 0).then(|| common::jstr(&r.json(), "info.status").to_string())
}

/// Starts setup while the operator's Deployments cannot become ready (so its `helm upgrade
/// --install --wait` waits), and once the release is `phase` kills setup and its helm with
/// SIGKILL, as when a CI runner's cgroup is killed: no handler runs, the release stays `phase`.
fn kill_setup_with_the_release(sb: &Sandbox, phase: &str) {
    sb.kube_config(json!({"autoReadyDeployments": false, "modelOperator": "off"}));
    let child = spawn_setup(sb, &["--timeout", "5m"], &[]);
    common::wait_until(
        &format!("helm upgrade --install to leave the release {phase}"),
        // Setup's IAM and cluster steps come first; on a loaded machine that takes minutes.
        std::time::Duration::from_secs(600),
        // Helm records the release as pending before it creates the chart's objects: wait for
        // the CRDs too, so the kill leaves what a killed install really leaves (models can exist).
        || {
            (release_status(sb).as_deref() == Some(phase)
                && sb
                    .kubectl(&[
                        "get",
                        "crd",
                        "jumpstartmodels.inference.sagemaker.aws.amazon.com",
                    ])
                    .code
                    == 0)
                .then_some(())
        },
    );
    // The children lead their own process groups, so each is killed by its pid.
    let kids = descendants(child.id());
    for pid in std::iter::once(child.id()).chain(kids) {
        // SAFETY: kill(2) on processes this test started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    child.finish();
    assert_eq!(release_status(sb).as_deref(), Some(phase));
    sb.kube_config(json!({"autoReadyDeployments": true}));
}

/// The plan of the next setup repairs the release (`plan_says`), and setup (taking over the
/// killed run's lock) converges without Helm's "another operation is in progress".
#[track_caller]
fn the_next_setup_repairs_the_release(sb: &Sandbox, plan_says: &[&str]) {
    let dry = setup_args(sb, "--dry-run");
    let dry: Vec<&str> = dry.iter().map(String::as_str).collect();
    sb.hyperpod(&dry).success().stdout_has(plan_says);
    // The killed setup could not release its lock (until it expires: the lock test covers
    // that); the next run takes it over.
    let yes = setup_args(sb, "--yes");
    let mut yes: Vec<&str> = yes.iter().map(String::as_str).collect();
    yes.push("--force-unlock");
    let run = sb.hyperpod(&yes);
    run.success();
    assert!(
        !format!("{}{}", run.stdout, run.stderr).contains("another operation"),
        "{}",
        run.describe()
    );
    assert_setup_converges(sb);
}

#[test]
fn a_release_a_killed_setup_left_pending_is_repaired_by_the_next_one_keeping_models() {
    let sb = cloud().sandbox();
    kill_setup_with_the_release(&sb, "pending-install");
    // A model of the user's exists meanwhile (the CRDs came with the pending install).
    sb.deploy_bert("keep-me", &["--no-wait"]).success();
    the_next_setup_repairs_the_release(&sb, &["is pending-install", "not helm uninstall"]);
    sb.kubectl(&["get", "jumpstartmodel", "keep-me", "-n", "default"])
        .success();

    // pending-upgrade: the release's values drifted (someone's helm upgrade), and the setup that
    // puts them back changes the operator's pod template, so its helm --wait waits; killed.
    sb.helm(&[
        "upgrade",
        "hyperpod-inference-operator",
        Sandbox::chart_dir().to_str().unwrap(),
        "-n",
        "kube-system",
        "--reuse-values",
        "--set",
        "tlsCertificateS3Bucket=s3://somewhere-else",
    ])
    .success();
    kill_setup_with_the_release(&sb, "pending-upgrade");
    the_next_setup_repairs_the_release(
        &sb,
        &["is pending-upgrade", "rolled back to revision 2 first"],
    );
    sb.kubectl(&["get", "jumpstartmodel", "keep-me", "-n", "default"])
        .success();
}

/// A setup now finishes with the release deployed, and the one after has nothing to do.
#[track_caller]
fn assert_setup_converges(sb: &Sandbox) {
    let args = setup_args(sb, "--yes");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    sb.hyperpod(&a).success();
    assert_eq!(release_status(sb).as_deref(), Some("deployed"));
    sb.clear_tool_log();
    let again = sb.hyperpod(&a);
    again.success();
    again.stdout_has(&["Everything is already in place"]);
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
}

/// Every process descending from `root` now (from /proc).
fn descendants(root: u32) -> Vec<u32> {
    let parent_of: Vec<(u32, u32)> = pids()
        .filter_map(|pid| Some((pid, stat_fields(pid)?.get(1)?.parse().ok()?)))
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// The fields of `/proc/<pid>/stat` after `pid (comm)`: state, ppid, pgrp, ...
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may hold spaces and parentheses: split after the last ')'.
    let rest = &s[s.rfind(')').map_or(0, |i| i + 1)..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Whether `pid` still runs (a zombie waiting for its new parent to reap it does not count).
fn running(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f[0] != "Z")
}

/// The process group of `pid`, while it exists.
fn group_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(2)?.parse().ok()
}

/// Every running process (zombies aside) whose process group is one of `groups`.
fn running_in_groups(groups: &[u32]) -> Vec<u32> {
    pids()
        .filter(|p| running(*p) && group_of(*p).is_some_and(|g| groups.contains(&g)))
        .collect()
}

/// Every process id on the machine now.
fn pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
}

/// Sends `sig` to setup, then: exit within 5 s with 128+sig, every descendant gone and every
/// process group one of them led or belonged to empty (a grandchild that left its parent is
/// still in its group), TMPDIR empty. Returns stderr.
fn interrupt(child: Spawned, sig: i32, w: &Watch) -> String {
    let kids = descendants(child.id());
    let mut groups: Vec<u32> = std::iter::once(child.id())
        .chain(kids.iter().filter_map(|p| group_of(*p)))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, sig) };
    let (run, _) = child.finish_within(std::time::Duration::from_secs(5));
    let stderr = run.stderr;
    assert_eq!(run.code, 128 + sig, "{stderr}");
    let left: Vec<u32> = kids.into_iter().filter(|p| running(*p)).collect();
    assert!(
        left.is_empty(),
        "still running after setup ended: {left:?}\n{stderr}"
    );
    let left = running_in_groups(&groups);
    assert!(
        left.is_empty(),
        "still running in setup's process groups {groups:?}: {left:?}\n{stderr}"
    );
    w.assert_empty("an interrupted setup");
    stderr
}

#[test]
fn sigint_and_sigterm_stop_setup_cleanly_and_the_next_setup_converges() {
    let sb = cloud().sandbox();
    sb.kube_config(json!({"autoReadyDeployments": false, "modelOperator": "off"}));
    let w = Watch::new(&sb);
    let spawn = || spawn_setup(&sb, &[], &w.env(&sb));
    let ours_in_tmp = || {
        std::fs::read_dir(&w.tmp).unwrap().flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("kubectl-hyperpod-")
        })
    };

    // 1. Ctrl-C while planning, through the temporary kubeconfig.
    let child = spawn();
    common::wait_until(
        "the planning kubeconfig",
        std::time::Duration::from_secs(120),
        || ours_in_tmp().then_some(()),
    );
    let err = interrupt(child, libc::SIGINT, &w);
    assert!(err.contains("interrupted (SIGINT)"), "{err}");
    assert!(err.contains("kubectl hyperpod setup` again"), "{err}");

    // 2. Ctrl-C while `aws eks wait addon-active` polls an add-on that EKS holds in CREATING.
    sb.addon_config(json!({"readyAfterDescribes": 1_000_000, "readyAfterSeconds": null}));
    let child = spawn();
    common::wait_until(
        "setup to wait for an EKS add-on",
        std::time::Duration::from_secs(300),
        || {
            sb.tool_log_lines()
                .iter()
                .any(|l| l.contains("eks wait addon-active"))
                .then_some(())
        },
    );
    let err = interrupt(child, libc::SIGINT, &w);
    assert!(err.contains("interrupted (SIGINT)"), "{err}");
    assert!(
        err.contains("add-on to become active (`aws eks wait addon-active"),
        "{err}"
    );
    // The add-on stays CREATING until EKS finishes it; the next run waits for it again.
    sb.addon_config(json!({"readyAfterDescribes": 1, "readyAfterSeconds": 1.0}));

    // 3. SIGTERM while helm upgrade --install --wait waits for the operator.
    let child = spawn();
    common::wait_until(
        "helm to wait on a pending-install release",
        std::time::Duration::from_secs(300),
        || (release_status(&sb).as_deref() == Some("pending-install")).then_some(()),
    );
    let err = interrupt(child, libc::SIGTERM, &w);
    assert!(err.contains("interrupted (SIGTERM)"), "{err}");
    assert!(err.contains("step inference-operator"), "{err}");
    assert!(err.contains("pending-install or pending-upgrade"), "{err}");

    // 4. The next setup converges; the one after has nothing to do.
    sb.kube_config(json!({"autoReadyDeployments": true}));
    assert_setup_converges(&sb);
}

/// The cluster lock's Lease, if any.
fn lock_lease(sb: &Sandbox) -> Option<serde_json::Value> {
    // Not through the user's kubeconfig: a setup may be rewriting it at this moment.
    let r = sb.kubectl_own(&[
        "get",
        "lease",
        "kubectl-hyperpod-lock",
        "-n",
        "kube-system",
        "-o",
        "json",
    ]);
    if r.code != 0 {
        assert!(
            r.stderr.contains("NotFound"),
            "reading the lock failed:\n{}",
            r.describe()
        );
        return None;
    }
    Some(r.json())
}

/// Leaves a lock held by someone else, renewed `ago` seconds ago for `duration` seconds. The
/// product judges it by exactly these two fields when it tries to take the lock, so a live holder
/// (a duration far longer than the test) and a dead one (renewed long before its duration) stay
/// what they are however long setup takes to plan.
fn foreign_lock(sb: &Sandbox, ago: i64, duration: i64) {
    let t = |s: i64| {
        let o = std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{s}"), "+%Y-%m-%dT%H:%M:%S.000000Z"])
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "kubectl-hyperpod-lock", "namespace": "kube-system",
            "annotations": {"kubectl-hyperpod.io/command": "teardown"}},
        "spec": {"holderIdentity": "someone@elsewhere pid 4242", "leaseDurationSeconds": duration,
            "acquireTime": t(now - ago - 100), "renewTime": t(now - ago)}
    });
    let f = sb.dir().join("lease.json");
    std::fs::write(&f, lease.to_string()).unwrap();
    sb.kubectl(&[
        "delete",
        "lease",
        "kubectl-hyperpod-lock",
        "-n",
        "kube-system",
        "--ignore-not-found",
    ])
    .success();
    sb.kubectl(&["create", "-f", f.to_str().unwrap()]).success();
}

/// Whether a tool log (one call per line, tab-separated) holds a change other than the lock's.
fn changes_besides_the_lock(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            [
                "create", "apply", "upgrade", "put-", "attach-", "tag-", "annotate", "delete",
                "replace",
            ]
            .iter()
            .any(|w| l.split('\t').any(|a| a.starts_with(w)))
        })
        // The lock's own calls: `kubectl create -f -` of the Lease, get/delete of `lease`.
        .filter(|l| {
            !(l.starts_with("kubectl")
                && (l.contains("\tcreate\t-f\t-\t") || l.contains("\tlease\t")))
        })
        .map(str::to_string)
        .collect()
}

/// Something for setup to change: the S3 CSI driver's ServiceAccount is gone.
fn drift(sb: &Sandbox) {
    sb.kubectl(&[
        "delete",
        "serviceaccount",
        "s3-csi-driver-sa",
        "-n",
        "kube-system",
    ])
    .success();
}

#[test]
fn two_setups_at_once_one_proceeds_the_other_names_the_holder_and_dead_holders_are_taken_over() {
    let sb = cloud().sandbox();
    // The operator never becomes ready, so whichever setup gets the lock holds it in helm --wait.
    sb.kube_config(json!({"autoReadyDeployments": false, "modelOperator": "off"}));
    let logs = [sb.dir().join("run-a.log"), sb.dir().join("run-b.log")];
    let env = |i: usize| vec![("HP_TOOL_LOG".to_string(), logs[i].display().to_string())];
    let mut runs = [
        Some(spawn_setup(&sb, &["--timeout", "5m"], &env(0))),
        Some(spawn_setup(&sb, &["--timeout", "5m"], &env(1))),
    ];
    // One of them stops, refused; the other goes on.
    let loser = common::wait_until(
        "one setup to be refused",
        std::time::Duration::from_secs(300),
        || (0..2).find(|i| runs[*i].as_mut().unwrap().exited()),
    );
    let winner = 1 - loser;
    let (lost, _) = runs[loser].take().unwrap().finish();
    let stderr = lost.stderr.clone();
    lost.exits(7);
    let won = runs[winner].take().unwrap();
    let holder = format!("pid {}", won.id());
    assert!(
        stderr.contains("another setup holds the lock on this cluster"),
        "{stderr}"
    );
    assert!(stderr.contains(&holder), "{stderr}");
    assert!(stderr.contains("--force-unlock"), "{stderr}");
    assert_eq!(changes_besides_the_lock(&logs[loser]), Vec::<String>::new());
    let Some(lease) = lock_lease(&sb) else {
        let mut won = won;
        if won.exited() {
            panic!(
                "the winner holds no lock: it ended\n{}",
                won.finish().0.describe()
            );
        }
        panic!("the winner runs but holds no lock");
    };
    assert!(
        common::jstr(&lease, "spec.holderIdentity").ends_with(&holder),
        "{lease}"
    );
    // Read-only runs never wait on it.
    let dry = setup_args(&sb, "--dry-run");
    let dry: Vec<&str> = dry.iter().map(String::as_str).collect();
    sb.hyperpod(&dry).success();

    // The winner finishes once the operator is ready, and releases the lock.
    sb.kube_config(json!({"autoReadyDeployments": true}));
    won.finish().0.success();
    assert!(lock_lease(&sb).is_none(), "the lock was not released");

    // A live foreign holder (renewed now, for an hour) refuses; --force-unlock takes over; a
    // dead one (last renewed 10 min ago, for 60 s) is taken over.
    drift(&sb);
    foreign_lock(&sb, 0, 3600);
    sb.clear_tool_log();
    let args = setup_args(&sb, "--yes");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    sb.hyperpod(&a).exits(7).stderr_has(&[
        "another teardown holds the lock",
        "someone@elsewhere pid 4242",
        "expires 3600s after its holder stops renewing it",
    ]);
    assert_eq!(
        changes_besides_the_lock(&sb.tool_log_path()),
        Vec::<String>::new()
    );
    let mut forced = a.clone();
    forced.push("--force-unlock");
    sb.hyperpod(&forced).success();
    drift(&sb);
    foreign_lock(&sb, 600, 60);
    sb.hyperpod(&a).success();
    assert!(lock_lease(&sb).is_none());
}
