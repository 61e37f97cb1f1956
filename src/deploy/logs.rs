//! `logs`: the logs of a model's pods (or of the inference operator), read once per container or
//! followed as they come, as data and as text.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::cluster;
use crate::error::{Error, Result};
use crate::exec::{command_error, stderr_tail, Cmd, StreamEvent};
use crate::tools::kube::{self, KubeOpts, LogWindow};
use crate::Ctx;

/// Whose logs, and which lines.
#[derive(Debug, Clone)]
pub(crate) struct LogsRequest {
    pub namespace: String,
    /// Label selector of the pods.
    pub selector: String,
    /// The inference operator's pods (changes only the hint when there are none).
    pub operator: bool,
    /// Only this container.
    pub container: Option<String>,
    /// Lines from the end of each log; -1 for all.
    pub tail: i64,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<u64>,
    /// The previous (crashed) container's logs.
    pub previous: bool,
}

impl LogsRequest {
    /// A model's pods (labelled `app=NAME`).
    pub(crate) fn model(namespace: &str, name: &str) -> Self {
        LogsRequest {
            namespace: namespace.to_string(),
            selector: cluster::model_selector(name),
            operator: false,
            container: None,
            tail: -1,
            since_seconds: None,
            previous: false,
        }
    }

    /// The inference operator's pods.
    pub(crate) fn operator() -> Self {
        LogsRequest {
            namespace: crate::install::names::OPERATOR_NAMESPACE.to_string(),
            selector: crate::install::names::OPERATOR_POD_SELECTOR.to_string(),
            operator: true,
            ..Self::model("", "")
        }
    }

    /// What the logs are of, for messages.
    fn what(&self) -> String {
        if self.operator {
            "the inference operator".into()
        } else {
            format!(
                "model {}",
                self.selector.strip_prefix("app=").unwrap_or(&self.selector)
            )
        }
    }

    /// Which lines every `kubectl logs` of this request reads.
    fn window(&self) -> LogWindow<'_> {
        LogWindow {
            namespace: &self.namespace,
            tail: self.tail,
            since_seconds: self.since_seconds,
            previous: self.previous,
        }
    }
}

/// The log of one container.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LogStream {
    pub pod: String,
    pub container: String,
    pub text: String,
}

/// The logs read, one stream per container.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Logs {
    pub logs: Vec<LogStream>,
}

impl Logs {
    /// One log as it is; several with each line prefixed `[pod/container]`.
    pub(crate) fn text(&self) -> String {
        if let [only] = self.logs.as_slice() {
            return only.text.clone();
        }
        let mut out = String::new();
        for s in &self.logs {
            for l in s.text.lines() {
                out.push_str(&format!("[{}/{}] {l}\n", s.pod, s.container));
            }
        }
        out
    }
}

/// The containers of a pod (init containers first), or only the one asked for.
pub(crate) fn containers_of(pod: &Value, only: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = ["/spec/initContainers", "/spec/containers"]
        .iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    if let Some(o) = only {
        names.retain(|n| n == o);
    }
    names
}

/// The pods of the request; an error that says what to check when there are none.
fn pods(ctx: &Ctx, req: &LogsRequest) -> Result<Vec<Value>> {
    let pods = cluster::pods(ctx, &req.namespace, &req.selector)?;
    if pods.is_empty() {
        return Err(Error::failed(
            format!(
                "no pods of {} in namespace {} (label {})",
                req.what(),
                req.namespace,
                req.selector
            ),
            Some(if req.operator {
                "is the operator installed? `kubectl hyperpod doctor`".into()
            } else {
                "the operator creates them once it deploys the model: `kubectl hyperpod describe NAME`"
                    .into()
            }),
        ));
    }
    Ok(pods)
}

/// The `kubectl logs` of one container.
pub(crate) fn read_cmd(kube: &KubeOpts, req: &LogsRequest, pod: &str, container: &str) -> Cmd {
    kube::logs(
        kube,
        format!("read the logs of {pod}/{container}"),
        pod,
        container,
        req.window(),
    )
}

/// Reads the log of every container of every pod. A container with no log yet (or no previous
/// one) gets a note in place of its text rather than failing the whole read.
pub(crate) fn read(ctx: &Ctx, req: &LogsRequest) -> Result<Logs> {
    let mut logs = Vec::new();
    for p in &pods(ctx, req)? {
        let pod = p
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        for c in containers_of(p, req.container.as_deref()) {
            let cmd = read_cmd(&ctx.kube, req, pod, &c);
            let out = ctx.runner.run_unchecked(&cmd)?;
            let text = if out.success() {
                out.stdout
            } else if req.previous
                || out.stderr.contains("waiting to start")
                || out.stderr.contains("PodInitializing")
            {
                format!("(no log: {})\n", stderr_tail(&out.stderr))
            } else {
                return Err(command_error(&cmd, &out));
            };
            logs.push(LogStream {
                pod: pod.to_string(),
                container: c,
                text,
            });
        }
    }
    Ok(Logs { logs })
}

/// The `kubectl logs -f` of every matching pod, lines prefixed `[pod/NAME/CONTAINER]`.
pub(crate) fn follow_cmd(kube: &KubeOpts, req: &LogsRequest) -> Cmd {
    kube::follow_logs(
        kube,
        "follow the logs",
        &req.selector,
        req.container.as_deref(),
        req.window(),
    )
}

/// One followed line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LogLine {
    pub pod: String,
    pub container: String,
    pub line: String,
}

impl LogLine {
    /// Splits kubectl's `[pod/NAME/CONTAINER] text`; a line without that prefix has empty names.
    pub(crate) fn parse(l: &str) -> Self {
        let (src, text) = match l.strip_prefix('[').and_then(|r| r.split_once("] ")) {
            Some((src, text)) => (src, text),
            None => ("", l),
        };
        let mut parts = src.trim_start_matches("pod/").splitn(2, '/');
        LogLine {
            pod: parts.next().unwrap_or("").to_string(),
            container: parts.next().unwrap_or("").to_string(),
            line: text.to_string(),
        }
    }
}

/// Follows the logs until kubectl ends or `each` returns false (e.g. stdout was closed).
/// `each` gets every line as kubectl printed it.
pub(crate) fn follow(
    ctx: &Ctx,
    req: &LogsRequest,
    mut each: impl FnMut(String) -> bool,
) -> Result<()> {
    pods(ctx, req)?;
    let cmd = follow_cmd(&ctx.kube, req);
    let mut stream = ctx.runner.stream(&cmd)?;
    loop {
        match stream.next(Duration::from_secs(3600)) {
            StreamEvent::Line(l) => {
                if !each(l) {
                    break;
                }
            }
            StreamEvent::Idle => {}
            StreamEvent::Closed => break,
        }
    }
    let out = stream.finish()?;
    if out.code != 0 && out.code != -1 {
        return Err(command_error(&cmd, &out));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn argv_of_read_and_follow() {
        let kube = KubeOpts::default();
        let mut req = LogsRequest::model("models", "m");
        req.tail = 50;
        req.since_seconds = Some(300);
        req.previous = true;
        let read = read_cmd(&kube, &req, "m-1", "c");
        assert!(
            read.display()
                .ends_with("logs m-1 -c c -n models --tail=50 --since=300s --previous"),
            "{}",
            read.display()
        );
        let follow = follow_cmd(&kube, &req);
        assert!(follow.display().ends_with(
            "logs -f -l app=m --prefix --max-log-requests=20 --all-containers -n models --tail=50 --since=300s --previous"
        ), "{}", follow.display());
        req.container = Some("c".into());
        assert!(follow_cmd(&kube, &req)
            .display()
            .contains("--max-log-requests=20 -c c -n models"));
        let op = LogsRequest::operator();
        assert!(op.operator && op.what() == "the inference operator");
        assert_eq!(LogsRequest::model("d", "m").what(), "model m");
    }

    #[test]
    fn containers_init_first_or_the_one_asked_for() {
        let pod = json!({"spec": {"initContainers": [{"name": "init"}],
            "containers": [{"name": "server"}, {"name": "sidecar"}]}});
        assert_eq!(containers_of(&pod, None), ["init", "server", "sidecar"]);
        assert_eq!(containers_of(&pod, Some("sidecar")), ["sidecar"]);
        assert!(containers_of(&pod, Some("nope")).is_empty());
    }

    #[test]
    fn text_prefixes_only_when_several() {
        let one = LogStream {
            pod: "p".into(),
            container: "c".into(),
            text: "a\nb\n".into(),
        };
        let mut logs = Logs {
            logs: vec![one.clone()],
        };
        assert_eq!(logs.text(), "a\nb\n");
        logs.logs.push(LogStream {
            container: "d".into(),
            ..one
        });
        assert_eq!(logs.text(), "[p/c] a\n[p/c] b\n[p/d] a\n[p/d] b\n");
    }

    #[test]
    fn followed_lines_split_into_pod_container_and_text() {
        assert_eq!(
            LogLine::parse("[pod/m-1/server] ready on :8080"),
            LogLine {
                pod: "m-1".into(),
                container: "server".into(),
                line: "ready on :8080".into()
            }
        );
        let bare = LogLine::parse("no prefix");
        assert_eq!((bare.pod.as_str(), bare.line.as_str()), ("", "no prefix"));
        assert_eq!(
            serde_json::to_string(&LogLine::parse("[pod/p/c] x")).unwrap(),
            r#"{"pod":"p","container":"c","line":"x"}"#
        );
    }
}
