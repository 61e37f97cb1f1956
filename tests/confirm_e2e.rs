//! What a person at a terminal is asked before anything changes, and what each answer does:
//! setup and teardown (the plan, then "Apply ...? [y/N]") and `doctor --fix`. The plugin runs on
//! a pseudo-terminal (util-linux `script`) against the emulated cloud; anything but y/yes is no.

mod common;

use common::{cloud, Sandbox};

fn role_exists(sb: &Sandbox, name: &str) -> bool {
    sb.aws(&["iam", "get-role", "--role-name", name]).code == 0
}

/// The IAM OIDC providers for this sandbox's cluster issuer (the account is shared by tests).
fn oidc_providers(sb: &Sandbox) -> Vec<String> {
    let host = sb.oidc_issuer.trim_start_matches("https://");
    sb.aws_json(&["iam", "list-open-id-connect-providers"])["OpenIDConnectProviderList"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["Arn"].as_str())
        .filter(|a| a.ends_with(&format!("oidc-provider/{host}")))
        .map(str::to_string)
        .collect()
}

fn operator_role(sb: &Sandbox) -> String {
    format!("HyperpodInferenceRole-{}", sb.hyperpod_cluster)
}

fn iam_only_setup(sb: &Sandbox, typed: &str) -> common::Run {
    sb.hyperpod_on_terminal(
        &[
            "setup",
            "--hyperpod-cluster",
            &sb.hyperpod_cluster,
            "--s3-bucket",
            &sb.bucket,
            "--iam-only",
        ],
        typed,
    )
}

#[test]
fn setup_and_teardown_ask_on_a_terminal_and_only_yes_goes_ahead() {
    let sb = cloud().sandbox();

    // Anything but y/yes (here: just Enter, then "n") changes nothing and exits 5.
    for typed in ["\n", "n\n"] {
        let r = iam_only_setup(&sb, typed);
        assert_eq!(r.code, 5, "{}", r.describe());
        assert!(r.stdout.contains("Plan:"), "{}", r.describe());
        assert!(
            r.stdout.contains("Apply these") && r.stdout.contains("change(s)? [y/N]"),
            "{}",
            r.describe()
        );
        r.stdout_has(&["not confirmed; nothing was changed"]);
        assert!(!role_exists(&sb, &operator_role(&sb)));
        assert_eq!(oidc_providers(&sb), Vec::<String>::new());
    }
    // Nothing but read-only calls ran while asking.
    let log = sb.tool_log();
    assert!(!log.is_empty());
    for c in &log {
        let verb = c.get(2).map(String::as_str).unwrap_or("");
        assert!(
            !verb.starts_with("create") && !verb.starts_with("put") && !verb.starts_with("attach"),
            "changed something before the answer: {c:?}"
        );
    }

    let r = iam_only_setup(&sb, "y\n");
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(role_exists(&sb, &operator_role(&sb)));
    assert_eq!(oidc_providers(&sb).len(), 1);

    // Teardown asks the same way: "no" keeps the roles, "yes" removes them.
    let teardown = |typed: &str| {
        sb.hyperpod_on_terminal(
            &["teardown", "--hyperpod-cluster", &sb.hyperpod_cluster],
            typed,
        )
    };
    let r = teardown("no\n");
    assert_eq!(r.code, 5, "{}", r.describe());
    assert!(
        r.stdout.contains("Remove what these") && r.stdout.contains("[y/N]"),
        "{}",
        r.describe()
    );
    assert!(role_exists(&sb, &operator_role(&sb)));
    let r = teardown("yes\n");
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(!role_exists(&sb, &operator_role(&sb)));
}

#[test]
fn doctor_fix_asks_on_a_terminal_and_only_yes_applies() {
    let sb = cloud().sandbox();
    let r = iam_only_setup(&sb, "y\n");
    assert_eq!(r.code, 0, "{}", r.describe());
    let arn = oidc_providers(&sb)
        .pop()
        .expect("setup created the OIDC provider");
    sb.aws(&[
        "iam",
        "delete-open-id-connect-provider",
        "--open-id-connect-provider-arn",
        &arn,
    ])
    .success();

    let doctor = |typed: &str| {
        sb.hyperpod_on_terminal(
            &[
                "doctor",
                "--hyperpod-cluster",
                &sb.hyperpod_cluster,
                "--fix",
            ],
            typed,
        )
    };
    let r = doctor("n\n");
    assert_eq!(r.code, 5, "{}", r.describe());
    r.stdout_has(&["Apply 1 fix (HP401)? [y/N]"]);
    r.stdout_has(&["the fixes were not applied"]);
    assert_eq!(oidc_providers(&sb), Vec::<String>::new());

    // Yes: the provider is created and the re-check finds it (the cluster itself has no
    // operator, so doctor still exits 1 for the checks --fix cannot repair).
    let r = doctor("y\n");
    assert_eq!(r.code, 1, "{}", r.describe());
    assert!(r.stdout.contains("fixed HP401"), "{}", r.describe());
    assert_eq!(oidc_providers(&sb), vec![arn]);
}
