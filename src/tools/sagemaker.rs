//! The SageMaker API (`aws sagemaker ...`: HyperPod clusters, JumpStart hub content) and
//! `aws sagemaker-runtime invoke-endpoint`, with the serde types of the answers.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::aws::AwsOpts;
use crate::error::Result;
use crate::exec::{Cmd, Runner};

/// A HyperPod cluster as `aws sagemaker describe-cluster` tells it: the one answer setup,
/// teardown, doctor and deploy's placement check all read.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HyperPodCluster {
    pub cluster_arn: String,
    pub cluster_name: String,
    #[serde(default)]
    pub cluster_status: Option<String>,
    #[serde(default)]
    pub orchestrator: Option<Orchestrator>,
    #[serde(default)]
    pub instance_groups: Vec<InstanceGroup>,
}

impl HyperPodCluster {
    /// The ARN of the EKS cluster that orchestrates it (`Orchestrator.Eks.ClusterArn`).
    pub(crate) fn eks_cluster_arn(&self) -> Option<&str> {
        Some(
            self.orchestrator
                .as_ref()?
                .eks
                .as_ref()?
                .cluster_arn
                .as_str(),
        )
    }

    /// The name of that EKS cluster (the ARN's last part), when there is one.
    pub(crate) fn eks_cluster_name(&self) -> Option<&str> {
        self.eks_cluster_arn()?
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
    }
}

/// One instance group of a HyperPod cluster.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InstanceGroup {
    #[serde(default)]
    pub instance_group_name: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    /// The instances it has now.
    #[serde(default)]
    pub current_count: Option<i64>,
    /// The instances it is meant to have.
    #[serde(default)]
    pub target_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Orchestrator {
    pub eks: Option<EksOrchestrator>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EksOrchestrator {
    pub cluster_arn: String,
}

/// `aws sagemaker describe-cluster` (a HyperPod cluster).
pub(crate) fn describe_cluster(aws: &AwsOpts, purpose: impl Into<String>, name: &str) -> Cmd {
    aws.cmd(
        purpose,
        &["sagemaker", "describe-cluster", "--cluster-name", name],
    )
}

/// Runs a [`describe_cluster`] command: the cluster.
pub(crate) fn cluster(runner: &Runner, cmd: &Cmd) -> Result<HyperPodCluster> {
    runner.json(cmd)
}

/// `aws sagemaker list-clusters`.
pub(crate) fn list_clusters(aws: &AwsOpts, purpose: impl Into<String>) -> Cmd {
    aws.cmd(purpose, &["sagemaker", "list-clusters"])
}

/// `aws sagemaker describe-hub-content` of a JumpStart model.
pub(crate) fn describe_hub_content(aws: &AwsOpts, hub: &str, model_id: &str) -> Cmd {
    aws.cmd(
        format!("read JumpStart model {model_id}'s supported instance types"),
        &[
            "sagemaker",
            "describe-hub-content",
            "--hub-name",
            hub,
            "--hub-content-type",
            "Model",
            "--hub-content-name",
            model_id,
        ],
    )
}

/// `aws sagemaker-runtime invoke-endpoint`. `fileb://` keeps the body out of argv and away from
/// the CLI's own `file://` interpretation; the response goes to `response`.
pub(crate) fn invoke_endpoint(
    aws: &AwsOpts,
    endpoint: &str,
    content_type: &str,
    body: &Path,
    response: &Path,
) -> Cmd {
    aws.cmd(
        format!("invoke the SageMaker endpoint {endpoint}"),
        &[
            "sagemaker-runtime".to_string(),
            "invoke-endpoint".to_string(),
            "--endpoint-name".to_string(),
            endpoint.to_string(),
            "--content-type".to_string(),
            content_type.to_string(),
            "--body".to_string(),
            format!("fileb://{}", body.display()),
            response.display().to_string(),
        ],
    )
}
