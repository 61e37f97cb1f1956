//! Hostile input to `deploy -f` and `invoke --body-file`: each refused with exit 2, naming the
//! file or flag, before any tool runs (stub `kubectl`/`aws`/`helm` on PATH record any call), and
//! with a small peak memory, read from the kernel's accounting of the child (wait4's ru_maxrss).
//! Also `deploy jumpstart` / `deploy custom` flags beyond the seed's examples: good combinations
//! render with `--dry-run --offline` (no tool at all) into the fields the v1 CRDs name; bad values are
//! refused with exit 2 naming the flag or field, before any tool runs.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "common/guide.rs"]
mod guide;
use guide::{BERT_INSTANCE_TYPE, BERT_MODEL_ID};

const MIB: usize = 1024 * 1024;

struct Refusal {
    code: i32,
    stderr: String,
    max_rss_kib: i64,
    tool_calls: String,
}

/// A directory with stub tools that log their argv to `calls`.
fn stub_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in ["kubectl", "aws", "helm", "git"] {
        let p = bin.join(tool);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho \"{tool} $*\" >> '{}'\nexit 1\n",
                dir.path().join("calls").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// Runs the binary with `stdin`, waits with wait4 to read the child's own peak memory.
// The child is reaped by wait4 (clippy cannot see it), which also gives its rusage.
#[allow(clippy::zombie_processes)]
fn run(dir: &Path, args: &[&str], stdin: &[u8]) -> Refusal {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-hyperpod"))
        .args(args)
        .env_clear()
        .env("PATH", dir.join("bin"))
        .env("HOME", dir)
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    // The tool may stop reading early (that is the point): a broken pipe is fine.
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let mut err_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err_pipe, &mut s);
        s
    });
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; rusage is a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4 failed");
    let _ = feeder.join();
    let stderr = reader.join().unwrap();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Refusal {
        code,
        stderr,
        max_rss_kib: usage.ru_maxrss,
        tool_calls: std::fs::read_to_string(dir.join("calls")).unwrap_or_default(),
    }
}

fn assert_refused(r: &Refusal, what: &str, names: &str, says: &str) {
    assert_eq!(r.code, 2, "{what}: exit {}\n{}", r.code, r.stderr);
    assert!(
        r.stderr.contains(names),
        "{what}: does not name {names}:\n{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(says),
        "{what}: does not say {says:?}:\n{}",
        r.stderr
    );
    assert!(
        r.tool_calls.is_empty(),
        "{what}: tools ran:\n{}",
        r.tool_calls
    );
    assert!(
        r.max_rss_kib < 100 * 1024,
        "{what}: peak memory {} KiB",
        r.max_rss_kib
    );
}

const GOOD: &str = "apiVersion: inference.sagemaker.aws.amazon.com/v1
kind: JumpStartModel
metadata:
  name: m
spec:
  model:
    modelId: huggingface-eqa-bert-base-cased
    acceptEula: true
  server:
    instanceType: ml.c5.2xlarge
";

fn good_with_metadata(extra: &str) -> String {
    GOOD.replace("  name: m\n", &format!("  name: m\n{extra}"))
}

/// (case, file contents, what the error must say)
fn manifests() -> Vec<(&'static str, Vec<u8>, String)> {
    let mut laughs = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let refs: Vec<String> = (0..9).map(|_| format!("*a{}", i - 1)).collect();
        laughs.push_str(&format!("a{i}: &a{i} [{}]\n", refs.join(",")));
    }
    let mut block_nest = String::new();
    for i in 0..40 {
        block_nest.push_str(&format!("{}k{i}:\n", "  ".repeat(i)));
    }
    let json_nest = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
    let mut utf16 = vec![0xff, 0xfe];
    for u in GOOD.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let big_annotation = format!("x{}", "y".repeat(300 * 1024));
    let too_big: Vec<u8> = GOOD
        .bytes()
        .chain(std::iter::repeat_n(b'#', 2 * MIB))
        .collect();
    vec![
        ("over 1 MiB", too_big, "the limit is 1.0 MiB".into()),
        ("alias bomb", laughs.into_bytes(), "YAML aliases".into()),
        (
            "one alias",
            GOOD.replace("  name: m\n", "  name: &n m\n  labels: {a: *n}\n").into_bytes(),
            "YAML aliases".into(),
        ),
        (
            "merge key",
            format!("base: &b {{x: 1}}\n{}", GOOD.replace("spec:\n", "spec:\n  <<: *b\n")).into_bytes(),
            "YAML aliases".into(),
        ),
        ("flow nesting", format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(), "nested more than".into()),
        ("block nesting", block_nest.into_bytes(), "nested more than".into()),
        ("json nesting", json_nest.into_bytes(), "nested more than".into()),
        ("latin-1 byte", GOOD.bytes().chain(*b"# caf\xe9\n").collect(), "not UTF-8".into()),
        ("utf-16", utf16, "not UTF-8".into()),
        ("lone continuation byte", b"kind: \x80\n".to_vec(), "not UTF-8".into()),
        ("duplicate kind", format!("kind: Pod\n{GOOD}").into_bytes(), "duplicate key \"kind\"".into()),
        ("duplicate modelId", GOOD.replace("    acceptEula", "    modelId: other\n    acceptEula").into_bytes(), "duplicate key \"modelId\"".into()),
        ("duplicate json key", br#"{"kind": "JumpStartModel", "kind": "InferenceEndpointConfig"}"#.to_vec(), "duplicate key".into()),
        ("duplicate quoted key", GOOD.replace("  name: m\n", "  name: m\n  \"name\": n\n").into_bytes(), "duplicate key \"name\"".into()),
        ("no spec", GOOD.split("spec:").next().unwrap().as_bytes().to_vec(), "spec in".into()),
        ("null spec", format!("{}spec: null\n", GOOD.split("spec:").next().unwrap()).into_bytes(), "is required: the operator needs spec.model".into()),
        ("string spec", format!("{}spec: run\n", GOOD.split("spec:").next().unwrap()).into_bytes(), "spec".into()),
        ("empty spec", format!("{}spec: {{}}\n", GOOD.split("spec:").next().unwrap()).into_bytes(), "is required".into()),
        (
            "endpoint config without spec",
            b"apiVersion: inference.sagemaker.aws.amazon.com/v1\nkind: InferenceEndpointConfig\nmetadata: {name: m}\n".to_vec(),
            "spec.modelName, spec.modelSourceConfig and spec.worker".into(),
        ),
        ("label value 64", good_with_metadata(&format!("  labels: {{a: {}}}\n", "v".repeat(64))).into_bytes(), "metadata.labels[a]".into()),
        ("label value chars", good_with_metadata("  labels: {a: \"b c\"}\n").into_bytes(), "value must be empty".into()),
        ("label key prefix", good_with_metadata("  labels: {Example.COM/a: b}\n").into_bytes(), "its prefix".into()),
        ("label key 64", good_with_metadata(&format!("  labels: {{{}: b}}\n", "k".repeat(64))).into_bytes(), "key must be [prefix/]name".into()),
        ("label key empty name", good_with_metadata("  labels: {example.com/: b}\n").into_bytes(), "key must be".into()),
        ("annotation key", good_with_metadata("  annotations: {\"a b\": c}\n").into_bytes(), "metadata.annotations[a b]".into()),
        ("annotations 300 KiB", good_with_metadata(&format!("  annotations: {{a: {big_annotation}}}\n")).into_bytes(), "must total at most 262144 bytes".into()),
        ("two documents", format!("{GOOD}---\n{GOOD}").into_bytes(), "holds 2 documents".into()),
        ("empty", Vec::new(), "holds 0 documents".into()),
        ("a list", b"- a\n- b\n".to_vec(), "must be a YAML or JSON object".into()),
        ("control character", b"kind: \x01JumpStartModel\n".to_vec(), "not valid YAML".into()),
        ("wrong kind", GOOD.replace("kind: JumpStartModel", "kind: Pod").into_bytes(), "must be JumpStartModel".into()),
        ("tab indentation", GOOD.replace("  name", "\tname").into_bytes(), "not valid YAML".into()),
    ]
}

#[test]
fn hostile_manifests_are_refused_before_any_call_with_little_memory() {
    let dir = stub_dir();
    let cases = manifests();
    assert!(cases.len() >= 30);
    for (i, (what, bytes, says)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("case-{i}.yaml"));
        std::fs::write(&file, bytes).unwrap();
        let f = file.to_str().unwrap();
        let r = run(dir.path(), &["deploy", "-f", f], b"");
        assert_refused(&r, what, f, says);
    }
    // Through stdin the same checks hold, the size by a bounded read.
    let (what, bytes, says) = &cases[0];
    let r = run(dir.path(), &["deploy", "-f", "-"], bytes);
    assert_refused(&r, what, "--filename", says);
    let r = run(dir.path(), &["deploy", "-f", "-"], &cases[1].1);
    assert_refused(&r, "alias bomb on stdin", "--filename", "YAML aliases");
}

#[test]
fn files_far_over_the_limit_are_refused_by_their_size_unread() {
    let dir = stub_dir();
    // Sparse: 50 GB on paper; reading it would take minutes and all memory.
    let big = dir.path().join("huge.yaml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(50 << 30)
        .unwrap();
    let f = big.to_str().unwrap();
    let r = run(dir.path(), &["deploy", "-f", f], b"");
    assert_refused(
        &r,
        "50 GB manifest",
        f,
        "is 51200.0 MiB; the limit is 1.0 MiB",
    );
    let d = dir.path().to_str().unwrap();
    let r = run(dir.path(), &["deploy", "-f", d], b"");
    assert_refused(&r, "a directory", d, "is a directory");
    let missing = dir.path().join("missing.yaml");
    let m = missing.to_str().unwrap();
    let r = run(dir.path(), &["deploy", "-f", m], b"");
    assert_refused(&r, "a missing file", m, "cannot read");

    let body = dir.path().join("body.json");
    std::fs::File::create(&body)
        .unwrap()
        .set_len(7 * MIB as u64)
        .unwrap();
    let b = body.to_str().unwrap();
    let r = run(dir.path(), &["invoke", "m", "--body-file", b], b"");
    assert_refused(&r, "7 MiB body", "--body-file", "the limit is 6.0 MiB");
    let r = run(
        dir.path(),
        &["invoke", "m", "--body-file", "-"],
        &vec![b' '; 7 * MIB],
    );
    assert_refused(
        &r,
        "7 MiB body on stdin",
        "--body-file",
        "larger than 6.0 MiB",
    );
    std::fs::write(
        &body,
        format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)),
    )
    .unwrap();
    let r = run(dir.path(), &["invoke", "m", "--body-file", b], b"");
    assert_refused(&r, "deeply nested JSON body", "--body-file", "must be JSON");
    std::fs::write(&body, b"{\"a\": \"caf\xe9\"}").unwrap();
    let r = run(dir.path(), &["invoke", "m", "--body-file", b], b"");
    assert_refused(&r, "non-UTF-8 JSON body", "--body-file", "must be JSON");
}

#[test]
fn the_stubs_do_record_calls() {
    // The control: a good manifest gets past every check and reaches kubectl.
    let dir = stub_dir();
    let file: PathBuf = dir.path().join("good.yaml");
    std::fs::write(&file, GOOD).unwrap();
    let r = run(dir.path(), &["deploy", "-f", file.to_str().unwrap()], b"");
    assert!(r.tool_calls.contains("kubectl"), "{}\n{}", r.code, r.stderr);
}

/// Runs the binary with its output captured (for the flag tests).
fn run_out(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-hyperpod"))
        .args(args)
        .env_clear()
        .env("PATH", dir.join("bin"))
        .env("HOME", dir)
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("AWS_REGION", "us-west-2")
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const JS: &[&str] = &[
    "deploy",
    "jumpstart",
    "--name",
    "bert",
    "--model-id",
    BERT_MODEL_ID,
    "--instance-type",
    BERT_INSTANCE_TYPE,
];

const CUSTOM_HF: &[&str] = &[
    "deploy",
    "custom",
    "--name",
    "llama",
    "--model-name",
    "llama-3-8b",
    "--instance-type",
    "ml.g5.12xlarge",
    "--model-source",
    "huggingface",
    "--hf-model-id",
    "meta-llama/Llama-3.1-8B-Instruct",
    "--image",
    "763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu124",
    "--container-port",
    "8000",
];

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn every_field_group_renders_from_flags() {
    // Over 80 lines: a table of field groups and the flags that render them.
    let dir = stub_dir();
    std::fs::write(
        dir.path().join("values.yaml"),
        "spec:\n  pdSpec:\n    prefillSpec: {replicas: 1}\n    decodingSpec: {replicas: 2}\n",
    )
    .unwrap();
    let js = with(
        JS,
        &[
            "--routing-strategy",
            "prefixaware",
            "--l1-cache",
            "--l2-cache-backend",
            "redis",
            "--l2-cache-url",
            "redis://cache:6379",
            "--metrics",
            "--metrics-scrape-interval",
            "15",
            "--model-hub",
            "my-hub",
            "--accelerator-partition",
            "mig-1g.10gb",
            "--min-replicas",
            "1",
            "--max-replicas",
            "2",
            "--target-value",
            "10",
            "--prometheus-query",
            "sum(rate(x[1m]))",
            "--prometheus-server",
            "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-abc",
            "--dry-run",
            "--offline",
            "-o",
            "json",
        ],
    );
    let (code, out, err) = run_out(dir.path(), &js);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["spec"]["intelligentRoutingSpec"]["routingStrategy"],
        "prefixaware"
    );
    assert_eq!(
        v["spec"]["kvCacheSpec"]["l2CacheSpec"]["l2CacheLocalUrl"],
        "redis://cache:6379"
    );
    assert_eq!(v["spec"]["metrics"]["enabled"], true);
    assert_eq!(v["spec"]["model"]["modelHubName"], "my-hub");
    assert_eq!(
        v["spec"]["autoScalingSpec"]["prometheusTrigger"]["query"],
        "sum(rate(x[1m]))"
    );

    let custom = with(
        CUSTOM_HF,
        &[
            "--hf-commit",
            "0e9e39f249a16976918f6564b8830bc894c89659",
            "--hf-token-secret",
            "hf/token",
            "--worker-command",
            "python3",
            "--worker-args",
            "--port",
            "--worker-args",
            "8000",
            "--resource",
            "vpc.amazonaws.com/efa=1",
            "--tag",
            "team=ml",
            "--values",
            "values.yaml",
            "--set",
            "spec.worker.workingDir=/opt/app",
            "--dry-run",
            "--offline",
            "-o",
            "json",
        ],
    );
    let (code, out, err) = run_out(dir.path(), &custom);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = &v["spec"];
    assert_eq!(
        s["modelSourceConfig"]["huggingFaceModel"]["commitSHA"],
        "0e9e39f249a16976918f6564b8830bc894c89659"
    );
    assert_eq!(s["worker"]["args"], serde_json::json!(["--port", "8000"]));
    assert_eq!(s["worker"]["workingDir"], "/opt/app");
    assert_eq!(s["pdSpec"]["decodingSpec"]["replicas"], 2);
    assert_eq!(s["tags"][0]["name"], "team");
    assert!(
        !dir.path().join("calls").exists(),
        "a tool ran during --dry-run --offline"
    );
}

#[test]
fn bad_values_are_refused_naming_the_flag_before_any_call() {
    // Over 80 lines: a table of bad values and the flag each must name.
    let dir = stub_dir();
    std::fs::write(dir.path().join("list.yaml"), "- 1\n- 2\n").unwrap();
    std::fs::write(dir.path().join("kind.yaml"), "kind: Pod\n").unwrap();
    std::fs::write(dir.path().join("name.yaml"), "metadata:\n  name: other\n").unwrap();
    std::fs::write(dir.path().join("dup.yaml"), "spec: {}\nspec: {}\n").unwrap();
    let js: Vec<(&[&str], &str)> = vec![
        (&["--routing-strategy", "random"], "--routing-strategy"),
        (&["--routing-strategy", "PREFIXAWARE"], "--routing-strategy"),
        (&["--l2-cache-url", "redis://x:1"], "--l2-cache-backend"),
        (
            &["--l2-cache-backend", "redis", "--l2-cache-url", "not a url"],
            "--l2-cache-url",
        ),
        (&["--l2-cache-backend", "red is"], "--l2-cache-backend"),
        (&["--metrics-scrape-interval", "10"], "--metrics"),
        (
            &["--metrics", "--metrics-scrape-interval", "0"],
            "--metrics-scrape-interval",
        ),
        (
            &["--metrics", "--metrics-scrape-interval", "-5"],
            "--metrics-scrape-interval",
        ),
        (
            &["--metrics", "--model-metrics-port", "0"],
            "--model-metrics-port",
        ),
        (
            &["--metrics", "--model-metrics-path", "metrics"],
            "--model-metrics-path",
        ),
        (&["--health-check-path", "/ping?x"], "--health-check-path"),
        (&["--routing-algorithm", "fastest"], "--routing-algorithm"),
        (
            &[
                "--acm-cert-arn",
                "arn:aws:acm:us-west-2:123456789012:certificate/x",
            ],
            "--domain-name",
        ),
        (&["--domain-name", "models.example.com"], "--acm-cert-arn"),
        (
            &[
                "--acm-cert-arn",
                "arn:aws:iam::123456789012:role/x",
                "--domain-name",
                "a.example.com",
            ],
            "--acm-cert-arn",
        ),
        (
            &[
                "--acm-cert-arn",
                "arn:aws:acm:us-west-2:123456789012:certificate/x",
                "--domain-name",
                "no_dots",
            ],
            "--domain-name",
        ),
        (&["--hosted-zone-id", "zone"], "--hosted-zone-id"),
        (
            &["--data-capture-s3-uri", "https://bucket/x"],
            "--data-capture-s3-uri",
        ),
        (&["--model-hub", "my hub"], "--model-hub"),
        (
            &["--accelerator-partition", "1g.10gb"],
            "--accelerator-partition",
        ),
        (
            &["--accelerator-partition", "mig-"],
            "--accelerator-partition",
        ),
        (&["--execution-role", "ModelServer"], "--execution-role"),
        (&["--additional-config", "novalue"], "--additional-config"),
        (&["--prometheus-query", "up"], "--prometheus-server"),
        (
            &[
                "--prometheus-server",
                "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-a",
            ],
            "--prometheus-query",
        ),
        (
            &[
                "--target-value",
                "1",
                "--prometheus-query",
                "up",
                "--prometheus-server",
                "http://prom:9090",
            ],
            "--prometheus-server",
        ),
        (
            &[
                "--prometheus-query",
                "up",
                "--prometheus-server",
                "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-a",
            ],
            "--target-value",
        ),
        (&["--set", "spec.server.instanceType"], "--set"),
        (&["--set", "kind=Pod"], "--set"),
        (&["--set", "metadata.name=other"], "--set"),
        (&["--set", "spec..x=1"], "--set"),
        (&["--set", "spec.x[99999]=1"], "--set"),
        (&["--set", "spec.model.modelId.x=1"], "--set"),
        (&["--set", "spec.replicas=many"], "spec.replicas"),
        (&["--set", "spec.unknownField=1"], "spec.unknownField"),
        (
            &[
                "--set",
                "spec.intelligentRoutingSpec.routingStrategy=random",
            ],
            "routingStrategy",
        ),
        (&["--values", "missing.yaml"], "--values"),
        (&["--values", "list.yaml"], "--values"),
        (&["--values", "kind.yaml"], "--values"),
        (&["--values", "name.yaml"], "--values"),
        (&["--values", "dup.yaml"], "--values"),
        (&["--tag", "team=ml"], "--tag"),
        (&["--hyperpod-cluster", "bad_name!"], "--hyperpod-cluster"),
    ];
    let custom: Vec<(&[&str], &str)> = vec![
        (&["--hf-model-id", "meta llama"], "--hf-model-id"),
        (&["--hf-model-id", "a/b/c"], "--hf-model-id"),
        (&["--hf-commit", "main"], "--hf-commit"),
        (&["--hf-commit", "0e9e39f"], "--hf-commit"),
        (&["--hf-token-secret", "token"], "--hf-token-secret"),
        (
            &["--hf-token-secret", "Bad_Name/token"],
            "--hf-token-secret",
        ),
        (&["--s3-bucket", "b"], "--s3-bucket"),
        (&["--resource", "efa=1"], "--resource"),
        (&["--resource", "nvidia.com/gpu=1"], "--resource"),
        (&["--resource", "vpc.amazonaws.com/efa=lots"], "--resource"),
        (&["--resource", "vpc.amazonaws.com/efa"], "--resource"),
        (&["--tag", "aws:x=1"], "--tag"),
        (&["--tag", "=v"], "--tag"),
        (&["--working-dir", "relative"], "--working-dir"),
        (
            &["--max-concurrent-requests", "0"],
            "--max-concurrent-requests",
        ),
        (&["--max-queue-size", "-1"], "--max-queue-size"),
        (&["--instance-types", "ml.g5.xlarge,g5"], "--instance-types"),
    ];
    let mut n = 0;
    for (base, cases) in [(JS, js), (CUSTOM_HF, custom)] {
        for (extra, named) in cases {
            let args = with(base, &with(extra, &["--dry-run"]));
            let (code, _, err) = run_out(dir.path(), &args);
            assert_eq!(code, 2, "{extra:?}: exit {code}\n{err}");
            assert!(err.contains(named), "{extra:?} should name {named}:\n{err}");
            n += 1;
        }
    }
    assert!(n >= 40, "{n} cases");
    assert!(!dir.path().join("calls").exists(), "a tool ran");
}
