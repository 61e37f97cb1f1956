//! What an add-on install already on the cluster says about itself: the operator add-on's
//! configuration and the role names in it (and in its CSI add-ons). Setup adopts them rather
//! than creating a second set of roles; doctor checks them rather than the derived names.

use serde_json::{Map, Value};

use super::RoleId;
use crate::render;
use crate::tools::eks::Addon;

/// The add-on's configuration as a JSON value (it may have been written as JSON or YAML).
pub(crate) fn configuration(a: &Addon) -> Value {
    a.configuration_values
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            serde_json::from_str(t)
                .or_else(|_| render::parse_yaml(t))
                .unwrap_or(Value::Null)
        })
        .unwrap_or(Value::Object(Map::new()))
}

/// The role names an add-on install on the cluster uses: from the operator add-on's configuration
/// and the CSI add-ons' ServiceAccount roles.
pub(crate) fn installed_roles(
    operator: &Addon,
    s3: Option<&Addon>,
    fsx: Option<&Addon>,
) -> Vec<(RoleId, String)> {
    let cfg = configuration(operator);
    let at = |ptr: &str| cfg.pointer(ptr).and_then(Value::as_str).map(str::to_string);
    let from_config = [
        (RoleId::Operator, at("/executionRoleArn")),
        (RoleId::Alb, at("/alb/serviceAccount/roleArn")),
        (RoleId::Keda, at("/keda/auth/aws/irsa/roleArn")),
        (
            RoleId::GatedModel,
            at("/jumpstartGatedModelDownloadRoleArn"),
        ),
        (
            RoleId::S3Csi,
            s3.and_then(|a| a.service_account_role_arn.clone()),
        ),
        (
            RoleId::FsxCsi,
            fsx.and_then(|a| a.service_account_role_arn.clone()),
        ),
    ];
    from_config
        .into_iter()
        .filter_map(|(id, arn)| {
            let arn = arn?;
            let name = arn.rsplit('/').next()?.to_string();
            (!name.is_empty()).then_some((id, name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::names::*;
    use serde_json::json;

    #[test]
    fn an_installs_roles_are_read_from_its_configuration() {
        let a: Addon = serde_json::from_value(json!({"addonName": OPERATOR_ADDON,
            "configurationValues": "{\"executionRoleArn\": \"arn:aws:iam::1:role/SageMakerHyperPodInference-x\", \"alb\": {\"serviceAccount\": {\"roleArn\": \"arn:aws:iam::1:role/alb\"}}}"}))
        .unwrap();
        let s3: Addon = serde_json::from_value(
            json!({"addonName": S3_CSI_ADDON, "serviceAccountRoleArn": "arn:aws:iam::1:role/s3"}),
        )
        .unwrap();
        assert_eq!(
            installed_roles(&a, Some(&s3), None),
            [
                (RoleId::Operator, "SageMakerHyperPodInference-x".to_string()),
                (RoleId::Alb, "alb".to_string()),
                (RoleId::S3Csi, "s3".to_string()),
            ]
        );
    }
}
