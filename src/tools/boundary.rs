//! The tools layer's boundary, enforced: outside `src/tools/` no file writes an argv for `aws`,
//! `kubectl`, `helm` or `git`. The builders (`AwsOpts::cmd`, `KubeOpts::kubectl`,
//! `KubeOpts::helm`) are private to `tools`, so the compiler refuses a call elsewhere; this test
//! refuses what the compiler cannot see: a `Cmd::new` of a tool, or an AWS operation's name
//! as a string literal. `src/exec/` is the runner below the tools (it runs the kubeconfig's own
//! credential command) and is not scanned; test modules may spell argv out in assertions.

use std::path::{Path, PathBuf};

const TOOLS: [&str; 4] = ["aws", "kubectl", "helm", "git"];

/// The verbs AWS CLI operation names start with (`create-role`, `describe-addon` ...).
const OPERATION_VERBS: [&str; 16] = [
    "create",
    "delete",
    "describe",
    "get",
    "list",
    "update",
    "attach",
    "detach",
    "put",
    "tag",
    "untag",
    "associate",
    "disassociate",
    "invoke",
    "head",
    "wait",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The string literals of a line (simple `"..."` ones; raw strings are not argv here).
fn literals(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// `create-open-id-connect-provider`: a verb, then lowercase words joined by `-`.
fn is_operation_name(s: &str) -> bool {
    let Some((verb, rest)) = s.split_once('-') else {
        return false;
    };
    OPERATION_VERBS.contains(&verb)
        && !rest.is_empty()
        && rest
            .split('-')
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
}

/// What a file (up to its test module) does that belongs to the tools layer.
fn violations(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        for tool in TOOLS {
            if line.contains(&format!("Cmd::new(\"{tool}\"")) {
                found.push(format!("line {}: Cmd::new(\"{tool}\", ..)", i + 1));
            }
        }
        for lit in literals(line) {
            if is_operation_name(lit) {
                found.push(format!("line {}: AWS operation \"{lit}\"", i + 1));
            }
        }
    }
    found
}

#[test]
fn operation_names_are_recognised() {
    for op in [
        "create-role",
        "create-open-id-connect-provider",
        "describe-addon-versions",
        "get-policy-version",
        "invoke-endpoint",
    ] {
        assert!(is_operation_name(op), "{op}");
    }
    for not in [
        "get",
        "create-",
        "list-X",
        "kube-system",
        "describe cluster",
    ] {
        assert!(!is_operation_name(not), "{not}");
    }
    let bad = "let c = Cmd::new(\"kubectl\", \"x\");\nlet a = [\"iam\", \"get-role\"];\n#[cfg(test)]\n\"delete-role\"";
    assert_eq!(
        violations(bad),
        [
            "line 1: Cmd::new(\"kubectl\", ..)",
            "line 2: AWS operation \"get-role\""
        ]
    );
}

#[test]
fn no_argv_for_the_tools_outside_the_tools_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut report = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().to_string();
        // error.rs reads a failed command's argv for its hint; it builds none.
        if rel.starts_with("tools/") || rel.starts_with("exec/") || rel == "error.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for v in violations(&text) {
            report.push(format!("src/{rel} {v}"));
        }
    }
    assert!(
        report.is_empty(),
        "argv for aws/kubectl/helm/git outside src/tools (build it there):\n{}",
        report.join("\n")
    );
}
