//! Ownership: whether a resource carries the marks setup puts on what it creates (IAM and add-on
//! tags, Kubernetes labels and annotations), and for which HyperPod cluster.

use serde_json::Value;

use crate::marks;

/// Who a resource belongs to, as far as its marks say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Created by setup for this HyperPod cluster.
    Ours,
    /// Created by setup, but for another HyperPod cluster (the name is in the mark).
    OtherCluster(String),
    /// No mark: created by someone else (the guide by hand, eksctl, an add-on...).
    NotOurs,
}

impl Owner {
    pub(crate) fn is_ours(&self) -> bool {
        *self == Owner::Ours
    }

    /// Why a resource is left in place, for notes.
    pub(crate) fn reason(&self) -> String {
        match self {
            Owner::Ours => "created by kubectl-hyperpod setup".into(),
            Owner::OtherCluster(c) => {
                format!("created by kubectl-hyperpod setup for HyperPod cluster {c}")
            }
            Owner::NotOurs => "not created by kubectl-hyperpod setup".into(),
        }
    }
}

fn decide(managed: bool, cluster_mark: Option<&str>, cluster: &str) -> Owner {
    match (managed, cluster_mark) {
        (true, Some(c)) if c == cluster => Owner::Ours,
        (true, Some(c)) => Owner::OtherCluster(c.to_string()),
        // A mark without the cluster tag cannot be attributed: not ours to remove.
        _ => Owner::NotOurs,
    }
}

/// IAM tags as the CLI prints them: `[{"Key": .., "Value": ..}]`.
pub(crate) fn iam(tags: &Value, cluster: &str) -> Owner {
    let get = |k: &str| {
        tags.as_array().and_then(|a| {
            a.iter()
                .find(|t| t["Key"] == k)
                .and_then(|t| t["Value"].as_str())
        })
    };
    let managed = get(marks::TAG_MANAGED_BY.0) == Some(marks::TAG_MANAGED_BY.1);
    decide(managed, get(marks::TAG_CLUSTER), cluster)
}

/// EKS add-on tags as the CLI prints them: `{"key": "value"}`.
pub(crate) fn addon(tags: &Value, cluster: &str) -> Owner {
    let managed = tags[marks::TAG_MANAGED_BY.0] == marks::TAG_MANAGED_BY.1;
    decide(managed, tags[marks::TAG_CLUSTER].as_str(), cluster)
}

/// A Kubernetes object: setup's annotation names the cluster; its label alone (objects setup
/// labels but does not annotate, such as the device plugin) counts when no annotation says
/// otherwise.
pub(crate) fn k8s(obj: &Value, cluster: &str) -> Owner {
    let meta = &obj["metadata"];
    let labelled = meta["labels"][marks::LABEL_MANAGED.0] == marks::LABEL_MANAGED.1;
    match meta["annotations"][marks::ANNOTATION_CLUSTER].as_str() {
        Some(c) if c == cluster => Owner::Ours,
        Some(c) => Owner::OtherCluster(c.to_string()),
        None if labelled => Owner::Ours,
        None => Owner::NotOurs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iam_tags_must_name_this_cluster() {
        let t = json!([{"Key": "managed-by", "Value": "kubectl-hyperpod"}, {"Key": "kubectl-hyperpod/hyperpod-cluster", "Value": "hp"}]);
        assert_eq!(iam(&t, "hp"), Owner::Ours);
        assert_eq!(iam(&t, "other"), Owner::OtherCluster("hp".into()));
        assert_eq!(
            iam(&json!([{"Key": "managed-by", "Value": "eksctl"}]), "hp"),
            Owner::NotOurs
        );
        assert_eq!(iam(&json!(null), "hp"), Owner::NotOurs);
        // the managed-by tag alone is not enough
        assert_eq!(
            iam(
                &json!([{"Key": "managed-by", "Value": "kubectl-hyperpod"}]),
                "hp"
            ),
            Owner::NotOurs
        );
    }

    #[test]
    fn addon_tags_are_a_map() {
        let t =
            json!({"managed-by": "kubectl-hyperpod", "kubectl-hyperpod/hyperpod-cluster": "hp"});
        assert!(addon(&t, "hp").is_ours());
        assert!(!addon(&json!({}), "hp").is_ours());
    }

    #[test]
    fn kubernetes_marks() {
        let ours = json!({"metadata": {"labels": {"kubectl-hyperpod.io/managed": "true"}, "annotations": {"kubectl-hyperpod.io/hyperpod-cluster": "hp"}}});
        assert!(k8s(&ours, "hp").is_ours());
        assert_eq!(k8s(&ours, "x"), Owner::OtherCluster("hp".into()));
        // adopted by an add-on that replaced the labels but kept the annotation
        let adopted = json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": "EKS"}, "annotations": {"kubectl-hyperpod.io/hyperpod-cluster": "hp"}}});
        assert!(k8s(&adopted, "hp").is_ours());
        let labelled = json!({"metadata": {"labels": {"kubectl-hyperpod.io/managed": "true"}}});
        assert!(k8s(&labelled, "hp").is_ours());
        let foreign = json!({"metadata": {"name": "x"}});
        assert_eq!(k8s(&foreign, "hp"), Owner::NotOurs);
    }
}
