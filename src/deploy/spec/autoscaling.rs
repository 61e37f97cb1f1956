//! The autoscaling flags of both kinds: the CRDs' `autoScalingSpec` with a CloudWatch trigger.

use serde_json::{json, Value};

use super::rules::{bad, cloudwatch_name, plain_text, replicas};
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
    }

    /// The `autoScalingSpec`, or None when no autoscaling flag was given.
    pub fn to_spec(&self) -> Result<Option<Value>> {
        if self.is_empty() {
            return Ok(None);
        }
        let need = "is required for autoscaling (with --min-replicas/--max-replicas and the other --metric-* flags)";
        let metric = self
            .metric_name
            .as_deref()
            .ok_or_else(|| Error::invalid("--metric-name", need))?;
        let namespace = self
            .metric_namespace
            .as_deref()
            .ok_or_else(|| Error::invalid("--metric-namespace", need))?;
        let target = self
            .target_value
            .ok_or_else(|| Error::invalid("--target-value", need))?;
        cloudwatch_name("--metric-name", metric)?;
        cloudwatch_name("--metric-namespace", namespace)?;
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
        let mut spec = json!({
            "minReplicaCount": min,
            "maxReplicaCount": max,
            "cloudWatchTrigger": trigger,
        });
        if let Some(c) = self.cooldown_period {
            spec["cooldownPeriod"] = json!(c);
        }
        Ok(Some(spec))
    }
}
