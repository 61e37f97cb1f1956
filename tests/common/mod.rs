//! The end-to-end test harness: an emulated cloud ("cluster in a box") per test binary.
//!
//! ```ignore
//! mod common;
//! let sb = common::cloud().sandbox();
//! sb.hyperpod(&["setup", "--hyperpod-cluster", &sb.hyperpod_cluster, "--yes"]).success();
//! ```
//!
//! * [`cloud`] provisions the tools once (`tests/env/provision.sh`: real aws CLI v1, kubectl,
//!   helm, moto in `target/e2e-env/`), then starts the Kubernetes API emulator
//!   (`tests/env/kube_emulator.py`) and the AWS emulator (`tests/env/aws_emulator.py`) once per
//!   test binary. Both exit when the test binary exits (their stdin closes).
//! * [`Cloud::sandbox`] gives each test its own EKS cluster (backed by its own cluster in the
//!   kube emulator), HyperPod cluster, S3 bucket, temp dir, kubeconfig and tool log, so tests
//!   run in parallel; the clusters start as a new HyperPod cluster has them ([`Profile::Fresh`];
//!   [`Cloud::sandbox_with`] for the other [`Profile`]s).
//! * Every tool the product runs goes through a shim (`aws`, `kubectl`, `helm`, `eksctl`,
//!   `git`) that records the invocation in `HP_TOOL_LOG` and can inject failures
//!   (`HP_FAIL_MATCH`: one or more newline-separated patterns, `HP_FAIL_CODE`).
#![allow(dead_code, unused_imports)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// Region of every sandbox.
pub const REGION: &str = "us-west-2";
/// The emulated account (moto's default).
pub const ACCOUNT: &str = "123456789012";

pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/e2e-env` (or `$HP_E2E_ENV`), where provision.sh installs the tools.
pub fn e2e_env_dir() -> PathBuf {
    match std::env::var_os("HP_E2E_ENV") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join("target").join("e2e-env"),
    }
}

mod cloud;
mod guide;
mod run;
mod sandbox;
mod state;
mod world;

pub use cloud::*;
pub use guide::*;
pub use run::*;
pub use sandbox::*;
pub use world::*;

/// Benchmarks: CPU time of the waited-for descendants of the test process, in ms
/// (`/proc/self/stat` cutime + cstime, clock ticks of 10 ms).
pub fn children_cpu_ms() -> u64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // After the command name: field 3 (state) is f[0]; cutime is field 16, cstime 17.
    (f.get(13).copied().unwrap_or(0) + f.get(14).copied().unwrap_or(0)) * 10
}

/// Benchmarks: the wait the AWS emulator adds before answering every request (global to it).
pub fn set_aws_latency(seconds: f64) {
    aws_hook(
        &cloud().aws_url,
        "PUT",
        "/_hp/latency",
        Some(&json!({ "seconds": seconds })),
    )
    .expect("set the AWS emulator's latency");
}
