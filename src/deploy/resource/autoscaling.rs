//! The autoscaling flags of both kinds: the CRDs' `autoScalingSpec` with a CloudWatch trigger.

use serde_json::{json, Value};

use super::rules::{bad, cloudwatch_name, obeys, plain_text, replicas};
use crate::error::{Error, Result};

/// Autoscaling with a CloudWatch trigger (the CRDs' `autoScalingSpec`; KEDA does the scaling).
#[derive(Debug, Clone, Default)]
pub struct Autoscaling {
    pub min_replicas: Option<i64>,
    pub max_replicas: Option<i64>,
    pub metric_name: Option<String>,
    pub metric_namespace: Option<String>,
    pub dimensions: Vec<(String, String)>,
    pub target_value: Option<f64>,
    pub metric_stat: Option<String>,
    pub metric_type: Option<String>,
    pub cooldown_period: Option<i64>,
    /// A Prometheus trigger (query and server), instead of or besides the CloudWatch one.
    pub prometheus_query: Option<String>,
    pub prometheus_server: Option<String>,
}

impl Autoscaling {
    pub fn is_empty(&self) -> bool {
        self.min_replicas.is_none()
            && self.max_replicas.is_none()
            && self.metric_name.is_none()
            && self.metric_namespace.is_none()
            && self.dimensions.is_empty()
            && self.target_value.is_none()
            && self.metric_stat.is_none()
            && self.metric_type.is_none()
            && self.cooldown_period.is_none()
            && self.prometheus_query.is_none()
            && self.prometheus_server.is_none()
    }

    /// The `autoScalingSpec`, or None when no autoscaling flag was given.
    pub fn to_spec(&self) -> Result<Option<Value>> {
        if self.is_empty() {
            return Ok(None);
        }
        let need = "is required for autoscaling (with --min-replicas/--max-replicas and the other --metric-* flags, or --prometheus-query)";
        let prometheus = self.prometheus_trigger()?;
        let cloudwatch =
            prometheus.is_none() || self.metric_name.is_some() || self.metric_namespace.is_some();
        if cloudwatch {
            for (flag, v) in [
                ("--metric-name", &self.metric_name),
                ("--metric-namespace", &self.metric_namespace),
            ] {
                if v.is_none() {
                    return Err(Error::invalid(flag, need));
                }
            }
        }
        let target = self
            .target_value
            .ok_or_else(|| Error::invalid("--target-value", need))?;
        if !target.is_finite() || target <= 0.0 {
            return Err(Error::invalid(
                "--target-value",
                format!("must be a number greater than 0 (got {target})"),
            ));
        }
        replicas("--min-replicas", self.min_replicas)?;
        replicas("--max-replicas", self.max_replicas)?;
        let min = self.min_replicas.unwrap_or(1);
        let max = self.max_replicas.unwrap_or(5);
        if max < 1 {
            return Err(Error::invalid("--max-replicas", "must be at least 1"));
        }
        if min > max {
            return Err(Error::invalid(
                "--min-replicas",
                format!("must not be greater than --max-replicas ({min} > {max})"),
            ));
        }
        if let Some(c) = self.cooldown_period {
            if !(0..=i64::from(i32::MAX)).contains(&c) {
                return Err(Error::invalid(
                    "--cooldown-period",
                    format!("must be 0 or more seconds (got {c})"),
                ));
            }
        }
        let mut dims = Vec::new();
        for (n, v) in &self.dimensions {
            cloudwatch_name("--metric-dimension", n)?;
            plain_text("--metric-dimension", v, 1024)?;
            dims.push(json!({"name": n, "value": v}));
        }
        if let Some(s) = &self.metric_stat {
            let pct = s
                .strip_prefix('p')
                .is_some_and(|p| p.parse::<f64>().is_ok_and(|x| (0.0..=100.0).contains(&x)));
            if !(pct
                || ["Average", "Sum", "Minimum", "Maximum", "SampleCount"].contains(&s.as_str()))
            {
                return Err(bad(
                    "--metric-stat",
                    "must be Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99",
                    s,
                ));
            }
        }
        if let Some(t) = &self.metric_type {
            if !["Average", "Value"].contains(&t.as_str()) {
                return Err(bad("--metric-type", "must be Average or Value", t));
            }
        }
        let mut spec = json!({
            "minReplicaCount": min,
            "maxReplicaCount": max,
        });
        if cloudwatch {
            let metric = self
                .metric_name
                .as_deref()
                .ok_or_else(|| Error::invalid("--metric-name", need))?;
            let namespace = self
                .metric_namespace
                .as_deref()
                .ok_or_else(|| Error::invalid("--metric-namespace", need))?;
            cloudwatch_name("--metric-name", metric)?;
            cloudwatch_name("--metric-namespace", namespace)?;
            let mut trigger = json!({
                "metricName": metric,
                "namespace": namespace,
                "targetValue": target,
            });
            if !dims.is_empty() {
                trigger["dimensions"] = Value::Array(dims);
            }
            if let Some(s) = &self.metric_stat {
                trigger["metricStat"] = json!(s);
            }
            if let Some(t) = &self.metric_type {
                trigger["metricType"] = json!(t);
            }
            spec["cloudWatchTrigger"] = trigger;
        }
        if let Some(mut p) = prometheus {
            p["targetValue"] = json!(target);
            if let Some(t) = &self.metric_type {
                p["metricType"] = json!(t);
            }
            spec["prometheusTrigger"] = p;
        }

        if let Some(c) = self.cooldown_period {
            spec["cooldownPeriod"] = json!(c);
        }
        Ok(Some(spec))
    }

    /// The Prometheus trigger (without its target), when asked for.
    fn prometheus_trigger(&self) -> Result<Option<Value>> {
        let (query, server) = match (&self.prometheus_query, &self.prometheus_server) {
            (None, None) => return Ok(None),
            (Some(q), Some(s)) => (q, s),
            (Some(_), None) => {
                return Err(Error::invalid(
                    "--prometheus-server",
                    "is required with --prometheus-query",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    "--prometheus-query",
                    "is required with --prometheus-server",
                ))
            }
        };
        plain_text("--prometheus-query", query, 4096)?;
        // The CRDs accept only an Amazon Managed Service for Prometheus workspace.
        let ok = server
            .strip_prefix("https://aps-workspaces.")
            .and_then(|r| r.split_once(".amazonaws.com/workspaces/ws-"))
            .is_some_and(|(region, ws)| {
                !region.is_empty()
                    && region.split('.').all(|p| {
                        !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    })
                    && !ws.is_empty()
                    && ws.len() <= 64
                    && ws.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        obeys(ok, "--prometheus-server", "must be an Amazon Managed Prometheus workspace URL, https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-ID (the only servers the CRD accepts)", server)?;
        Ok(Some(json!({"query": query, "serverAddress": server})))
    }
}
