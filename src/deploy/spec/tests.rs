//! Rendering both kinds from flags: the guide's examples, every option, quoting, durations.

use super::*;
use serde_json::{json, Value};

pub fn guide_jumpstart_input() -> JumpStartInput {
    JumpStartInput {
        name: "my-bert-model".into(),
        namespace: "default".into(),
        model_id: "huggingface-eqa-bert-base-cased".into(),
        endpoint_name: Some("my-bert-endpoint".into()),
        instance_type: "ml.c5.2xlarge".into(),
        env: vec![parse_env("--env", "SAMPLE_ENV_VAR=sample_value").unwrap()],
        max_deploy_time: Some(1800),
        ..Default::default()
    }
}

pub fn guide_custom_input() -> CustomInput {
    CustomInput {
        name: "my-custom-model".into(),
        namespace: "default".into(),
        model_name: "llama-3-8b-instruct".into(),
        model_version: None,
        endpoint_name: Some("my-custom-endpoint".into()),
        instance_type: "ml.g5.24xlarge".into(),
        invocation_endpoint: Some("v1/chat/completions".into()),
        replicas: Some(1),
        source: ModelSource::S3 {
            bucket: "my-model-bucket".into(),
            region: "us-west-2".into(),
        },
        model_location: Some("models/llama-3-8b".into()),
        prefetch: true,
        image: "763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu124"
            .into(),
        cpu: Some("30".into()),
        memory: Some("100Gi".into()),
        gpus: Some(4),
        cpu_limit: None,
        memory_limit: None,
        container_port: 8000,
        port_name: "http".into(),
        env: [
            "SAGEMAKER_ENV=1",
            "MODEL_CACHE_ROOT=/opt/ml/model",
            "OPTION_ROLLING_BATCH=vllm",
        ]
        .iter()
        .map(|e| parse_env("--env", e).unwrap())
        .collect(),
        volume_name: DEFAULT_VOLUME_NAME.into(),
        mount_path: DEFAULT_MOUNT_PATH.into(),
        tls_output_s3_uri: None,
        max_deploy_time: None,
        autoscaling: Autoscaling::default(),
    }
}

fn fixture(name: &str) -> Value {
    let text = match name {
        "jumpstart" => include_str!("../../../tests/deploy_fixtures/guide-jumpstart-model.yaml"),
        _ => include_str!("../../../tests/deploy_fixtures/guide-custom-model.yaml"),
    };
    crate::render::parse_yaml(text).unwrap()
}

#[test]
fn jumpstart_flags_render_the_guide_example_with_env_where_the_crd_has_it() {
    let v = guide_jumpstart_input().render().unwrap();
    let mut want = fixture("jumpstart");
    let env = want["spec"]["server"]
        .as_object_mut()
        .unwrap()
        .remove("environmentVariables")
        .unwrap();
    want["spec"]["environmentVariables"] = env;
    assert_eq!(v, want);
    crate::deploy::check::check(v, "default").unwrap();
}

#[test]
fn custom_flags_render_the_guide_example_plus_the_model_volume() {
    let v = guide_custom_input().render().unwrap();
    let mut want = fixture("custom");
    want["spec"]["worker"]["modelVolumeMount"] =
        json!({"name": "model-weights", "mountPath": "/opt/ml/model"});
    assert_eq!(v, want);
    crate::deploy::check::check(v, "default").unwrap();
    // The guide's own example is rejected, naming the missing field.
    let e = crate::deploy::check::check(fixture("custom"), "default").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid spec.worker.modelVolumeMount: is required"
    );
}

#[test]
fn every_option_renders_schema_valid_yaml() {
    let mut j = guide_jumpstart_input();
    j.model_version = Some("1.2.0".into());
    j.accept_eula = true;
    j.replicas = Some(3);
    j.tls_output_s3_uri = Some("s3://my-tls-bucket/certs".into());
    j.gated_model_role = Some("arn:aws:iam::123456789012:role/Gated".into());
    j.autoscaling = Autoscaling {
        min_replicas: Some(1),
        max_replicas: Some(4),
        metric_name: Some("Invocations".into()),
        metric_namespace: Some("AWS/SageMaker".into()),
        dimensions: vec![("EndpointName".into(), "my-bert-endpoint".into())],
        target_value: Some(10.5),
        metric_stat: Some("p99".into()),
        metric_type: Some("Value".into()),
        cooldown_period: Some(120),
    };
    let v = j.render().unwrap();
    assert_eq!(
        v["spec"]["autoScalingSpec"]["cloudWatchTrigger"]["targetValue"],
        10.5
    );
    assert_eq!(
        v["spec"]["model"]["gatedModelDownloadRole"],
        "arn:aws:iam::123456789012:role/Gated"
    );
    crate::deploy::check::check(v, "default").unwrap();

    let mut c = guide_custom_input();
    c.source = ModelSource::Fsx {
        file_system_id: "fs-0123456789abcdef0".into(),
        dns_name: Some("fs-0123456789abcdef0.fsx.us-west-2.amazonaws.com".into()),
        mount_name: Some("abcdefgh".into()),
    };
    c.cpu_limit = Some("32".into());
    c.memory_limit = Some("120Gi".into());
    c.port_name = "grpc".into();
    c.model_version = Some("1.0".into());
    c.tls_output_s3_uri = Some("s3://b-b-b".into());
    c.max_deploy_time = Some(7200);
    c.autoscaling = j.autoscaling.clone();
    let v = c.render().unwrap();
    assert_eq!(
        v["spec"]["modelSourceConfig"]["fsxStorage"]["mountName"],
        "abcdefgh"
    );
    crate::deploy::check::check(v, "default").unwrap();
}

#[test]
fn quoting_cannot_break_out_of_the_document() {
    let mut j = guide_jumpstart_input();
    j.env = vec![EnvVar {
        name: "X".into(),
        value: "a\"}\nkind: Secret\n#".into(),
    }];
    let v = j.render().unwrap();
    assert_eq!(v["kind"], "JumpStartModel");
    assert_eq!(
        v["spec"]["environmentVariables"][0]["value"],
        "a\"}\nkind: Secret\n#"
    );
}

#[test]
fn durations() {
    assert_eq!(parse_duration("--timeout", "1800").unwrap(), 1800);
    assert_eq!(parse_duration("--timeout", "30m").unwrap(), 1800);
    assert_eq!(parse_duration("--timeout", "2h").unwrap(), 7200);
    for bad in ["", "0", "-1", "1d", "m", "1.5h", "99999999999"] {
        assert!(parse_duration("--timeout", bad).is_err(), "{bad}");
    }
}
