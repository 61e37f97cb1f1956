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
        extras: Default::default(),
        features: Default::default(),
        overrides: Default::default(),
    }
}

/// The guide's InferenceEndpointConfig example (setup guide, "Deploying Models").
fn guide_custom() -> Value {
    crate::render::parse_yaml(include_str!(
        "../../../tests/deploy_fixtures/guide-custom-model.yaml"
    ))
    .unwrap()
}

#[test]
fn jumpstart_flags_render_the_guide_example_with_env_where_the_crd_has_it() {
    let v = guide_jumpstart_input().render().unwrap();
    assert_eq!(v, crate::deploy::check::tests::guide_jumpstart_fixed());
    crate::deploy::check::check(v, "default").unwrap();
}

#[test]
fn custom_flags_render_the_guide_example_plus_the_model_volume() {
    let v = guide_custom_input().render().unwrap();
    let mut want = guide_custom();
    want["spec"]["worker"]["modelVolumeMount"] =
        json!({"name": "model-weights", "mountPath": "/opt/ml/model"});
    assert_eq!(v, want);
    crate::deploy::check::check(v, "default").unwrap();
    // The guide's own example is rejected, naming the missing field.
    let e = crate::deploy::check::check(guide_custom(), "default").unwrap_err();
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
        ..Default::default()
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

/// Every field group the v1 CRDs offer beyond the seed's examples, from its flags, is rendered and
/// accepted by the CRD schema (check::check), for both kinds.
#[test]
fn every_field_group_renders_from_flags_and_passes_the_crd() {
    let features = Features {
        routing_strategy: Some("kvaware".into()),
        l1_cache: true,
        l2_cache_backend: Some("redis".into()),
        l2_cache_url: Some("redis://cache.default:6379".into()),
        cache_config_file: Some("/opt/ml/cache.json".into()),
        metrics: true,
        metrics_scrape_interval: Some(30),
        model_metrics_path: Some("/metrics".into()),
        model_metrics_port: Some(8000),
        health_check_path: Some("/ping".into()),
        routing_algorithm: Some("least_outstanding_requests".into()),
        acm_cert_arn: Some("arn:aws:acm:us-west-2:123456789012:certificate/0a1b".into()),
        domain_name: Some("models.example.com".into()),
        hosted_zone_id: Some("Z0123456789ABCDEF".into()),
        data_capture_s3_uri: Some("s3://my-capture-bucket/bert".into()),
        tags: vec![],
    };
    let prometheus = Autoscaling {
        min_replicas: Some(1),
        max_replicas: Some(3),
        target_value: Some(50.0),
        prometheus_query: Some("sum(rate(requests_total[1m]))".into()),
        prometheus_server: Some(
            "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-0123abcd-4567".into(),
        ),
        ..Default::default()
    };
    let mut j = guide_jumpstart_input();
    j.features = features.clone();
    j.model_hub = Some("my-private-hub".into());
    j.accelerator_partition = Some("mig-1g.10gb".into());
    j.execution_role = Some("arn:aws:iam::123456789012:role/ModelServer".into());
    j.additional_configs = vec![("max_tokens".into(), "512".into())];
    j.autoscaling = prometheus.clone();
    j.overrides = Overrides {
        values: Some(json!({"metadata": {"labels": {"team": "ml"}}, "spec": {"replicas": 2}})),
        sets: vec![SetOverride::parse("--set", "spec.sageMakerEndpoint.name=bert-ep").unwrap()],
    };
    let v = j.render().unwrap();
    let s = &v["spec"];
    assert_eq!(s["intelligentRoutingSpec"]["routingStrategy"], "kvaware");
    assert_eq!(s["kvCacheSpec"]["enableL2Cache"], true);
    assert_eq!(s["metrics"]["metricsScrapeIntervalSeconds"], 30);
    assert_eq!(s["model"]["modelHubName"], "my-private-hub");
    assert_eq!(s["model"]["modelId"], "huggingface-eqa-bert-base-cased");
    assert_eq!(s["server"]["acceleratorPartitionType"], "mig-1g.10gb");
    assert_eq!(s["server"]["instanceType"], "ml.c5.2xlarge");
    assert_eq!(
        s["autoScalingSpec"]["prometheusTrigger"]["targetValue"],
        50.0
    );
    assert!(s["autoScalingSpec"]["cloudWatchTrigger"].is_null());
    assert_eq!(s["replicas"], 2);
    assert_eq!(v["metadata"]["labels"]["team"], "ml");
    assert_eq!(s["sageMakerEndpoint"]["name"], "bert-ep");
    // The custom TLS certificate and the TLS output prefix live side by side.
    assert_eq!(
        s["tlsConfig"]["customCertificateConfig"]["domainName"],
        "models.example.com"
    );
    crate::deploy::check::check(v, "default").unwrap();

    let mut c = guide_custom_input();
    c.source = ModelSource::HuggingFace {
        model_id: "meta-llama/Llama-3.1-8B-Instruct".into(),
        commit: Some("0e9e39f249a16976918f6564b8830bc894c89659".into()),
        token_secret: Some(("hf-token".into(), "token".into())),
    };
    c.model_location = None;
    c.tls_output_s3_uri = Some("s3://my-tls-bucket/certs".into());
    c.features = Features {
        tags: vec![("team".into(), "ml".into())],
        ..features
    };
    c.extras = CustomExtras {
        command: vec!["python3".into(), "-m".into(), "server".into()],
        args: vec!["--port".into(), "8000".into()],
        working_dir: Some("/opt/app".into()),
        resources: vec![("vpc.amazonaws.com/efa".into(), "1".into())],
        instance_types: vec!["ml.g5.24xlarge".into(), "ml.g5.48xlarge".into()],
        max_concurrent_requests: Some(64),
        max_queue_size: Some(256),
    };
    c.instance_type = String::new();
    c.autoscaling = prometheus;
    c.overrides = Overrides {
        values: Some(json!({"spec": {"pdSpec": {
            "prefillSpec": {"replicas": 1}, "decodingSpec": {"replicas": 2}, "routingThreshold": 1024
        }}})),
        sets: vec![
            SetOverride::parse(
                "--set",
                "spec.worker.probes.readinessProbe.httpGet.path=/health",
            )
            .unwrap(),
            SetOverride::parse(
                "--set",
                "spec.worker.probes.readinessProbe.httpGet.port=8000",
            )
            .unwrap(),
        ],
    };
    let v = c.render().unwrap();
    let s = &v["spec"];
    assert_eq!(s["modelSourceConfig"]["modelSourceType"], "huggingface");
    assert_eq!(
        s["modelSourceConfig"]["huggingFaceModel"]["tokenSecretRef"]["name"],
        "hf-token"
    );
    assert!(s["modelSourceConfig"]["s3Storage"].is_null());
    assert!(s["instanceType"].is_null());
    assert_eq!(s["instanceTypes"][1], "ml.g5.48xlarge");
    assert_eq!(s["worker"]["command"][0], "python3");
    assert_eq!(s["worker"]["workingDir"], "/opt/app");
    assert_eq!(s["worker"]["image"], guide_custom_input().image.as_str());
    // GPUs from --gpus and the extra resource side by side.
    assert_eq!(
        s["worker"]["resources"]["limits"]["vpc.amazonaws.com/efa"],
        "1"
    );
    assert_eq!(s["worker"]["resources"]["limits"]["nvidia.com/gpu"], "4");
    assert_eq!(s["worker"]["requestLimits"]["maxQueueSize"], 256);
    assert_eq!(s["tags"][0]["value"], "ml");
    assert_eq!(s["pdSpec"]["decodingSpec"]["replicas"], 2);
    assert_eq!(
        s["worker"]["probes"]["readinessProbe"]["httpGet"]["port"],
        8000
    );
    crate::deploy::check::check(v, "default").unwrap();

    // An override the CRD refuses is refused by the same check, naming the field.
    let mut bad = guide_custom_input();
    bad.overrides.sets = vec![SetOverride::parse(
        "--set",
        "spec.worker.probes.readinessProbe.periodSeconds=often",
    )
    .unwrap()];
    let e = crate::deploy::check::check(bad.render().unwrap(), "default").unwrap_err();
    assert!(e.to_string().contains("periodSeconds"), "{e}");
}

// --set, --values and the shared feature flags (features.rs).

#[test]
fn set_paths_write_where_they_say() {
    let mut doc = json!({"spec": {"worker": {"image": "i"}}});
    for s in [
        "spec.worker.workingDir=/opt/app",
        "spec.worker.args[0]=--port",
        "spec.worker.args[1]=8080",
        "spec.worker.probes.readinessProbe.httpGet.path=/ping",
        "spec.worker.probes.readinessProbe.httpGet.port=8080",
        "metadata.labels.team=ml",
        "metadata.annotations.example\\.com/owner=me",
        "spec.instanceTypes=[\"ml.g5.xlarge\",\"ml.g5.2xlarge\"]",
    ] {
        SetOverride::parse("--set", s)
            .unwrap()
            .apply("--set", &mut doc)
            .unwrap();
    }
    assert_eq!(doc["spec"]["worker"]["workingDir"], "/opt/app");
    assert_eq!(doc["spec"]["worker"]["args"], json!(["--port", 8080]));
    assert_eq!(
        doc["spec"]["worker"]["probes"]["readinessProbe"]["httpGet"],
        json!({"path": "/ping", "port": 8080})
    );
    assert_eq!(doc["metadata"]["labels"]["team"], "ml");
    assert_eq!(doc["metadata"]["annotations"]["example.com/owner"], "me");
    assert_eq!(doc["spec"]["instanceTypes"][1], "ml.g5.2xlarge");
    assert_eq!(doc["spec"]["worker"]["image"], "i");
}

#[test]
fn bad_set_paths_are_refused_naming_the_flag() {
    for s in [
        "spec.worker.image",
        "kind=Pod",
        "metadata.name=x",
        "metadata.namespace=x",
        "metadata.labels=x",
        "spec=1",
        "spec[0]=1",
        "spec..x=1",
        "spec.x[=1",
        "spec.x[a]=1",
        "spec.x[9999]=1",
        "spec.x[0]y=1",
        "spec.$x=1",
        "spec.x y=1",
        "=1",
        ".spec=1",
        "spec.x.=1",
    ] {
        let e = SetOverride::parse("--set", s).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{s}");
        assert!(e.to_string().contains("--set"), "{s}: {e}");
    }
    let mut doc = json!({"spec": {"worker": {"image": "i"}}});
    for s in [
        "spec.worker.image.x=1",
        "spec.worker[0]=1",
        "spec.worker.args[3]=x",
    ] {
        let e = SetOverride::parse("--set", s)
            .unwrap()
            .apply("--set", &mut doc)
            .unwrap_err();
        assert!(e.to_string().contains("--set"), "{s}: {e}");
    }
}

#[test]
fn features_render_to_the_crd_fields_and_refuse_bad_values() {
    let f = Features {
        routing_strategy: Some("prefixaware".into()),
        l1_cache: true,
        l2_cache_backend: Some("redis".into()),
        l2_cache_url: Some("redis://cache:6379".into()),
        metrics: true,
        metrics_scrape_interval: Some(15),
        model_metrics_path: Some("/metrics".into()),
        model_metrics_port: Some(8000),
        health_check_path: Some("/ping".into()),
        routing_algorithm: Some("round_robin".into()),
        acm_cert_arn: Some("arn:aws:acm:us-west-2:123456789012:certificate/abc".into()),
        domain_name: Some("models.example.com".into()),
        hosted_zone_id: Some("Z0123456789ABC".into()),
        data_capture_s3_uri: Some("s3://my-bucket/capture".into()),
        tags: vec![("team".into(), "ml".into())],
        ..Default::default()
    };
    let spec = Value::Object(f.to_spec(true).unwrap());
    assert_eq!(
        spec["intelligentRoutingSpec"]["routingStrategy"],
        "prefixaware"
    );
    assert_eq!(
        spec["kvCacheSpec"]["l2CacheSpec"]["l2CacheBackend"],
        "redis"
    );
    assert_eq!(spec["metrics"]["modelMetrics"]["port"], 8000);
    assert_eq!(
        spec["tlsConfig"]["customCertificateConfig"]["domainName"],
        "models.example.com"
    );
    assert_eq!(spec["tags"][0]["name"], "team");
    let cases: Vec<(Features, &str)> = vec![
        (
            Features {
                routing_strategy: Some("random".into()),
                ..Default::default()
            },
            "--routing-strategy",
        ),
        (
            Features {
                l2_cache_url: Some("redis://x".into()),
                ..Default::default()
            },
            "--l2-cache-backend",
        ),
        (
            Features {
                l2_cache_backend: Some("r".into()),
                l2_cache_url: Some("not a url".into()),
                ..Default::default()
            },
            "--l2-cache-url",
        ),
        (
            Features {
                metrics_scrape_interval: Some(10),
                ..Default::default()
            },
            "--metrics",
        ),
        (
            Features {
                metrics: true,
                metrics_scrape_interval: Some(0),
                ..Default::default()
            },
            "--metrics-scrape-interval",
        ),
        (
            Features {
                metrics: true,
                model_metrics_port: Some(70000),
                ..Default::default()
            },
            "--model-metrics-port",
        ),
        (
            Features {
                metrics: true,
                model_metrics_path: Some("no slash".into()),
                ..Default::default()
            },
            "--model-metrics-path",
        ),
        (
            Features {
                routing_algorithm: Some("fastest".into()),
                ..Default::default()
            },
            "--routing-algorithm",
        ),
        (
            Features {
                acm_cert_arn: Some("arn:aws:acm:us-west-2:1:certificate/x".into()),
                domain_name: Some("a.b".into()),
                ..Default::default()
            },
            "--acm-cert-arn",
        ),
        (
            Features {
                acm_cert_arn: Some("arn:aws:acm:us-west-2:123456789012:certificate/x".into()),
                ..Default::default()
            },
            "--domain-name",
        ),
        (
            Features {
                acm_cert_arn: Some("arn:aws:acm:us-west-2:123456789012:certificate/x".into()),
                domain_name: Some("-bad-.com".into()),
                ..Default::default()
            },
            "--domain-name",
        ),
        (
            Features {
                hosted_zone_id: Some("zone-1".into()),
                ..Default::default()
            },
            "--hosted-zone-id",
        ),
        (
            Features {
                data_capture_s3_uri: Some("https://b".into()),
                ..Default::default()
            },
            "--data-capture-s3-uri",
        ),
        (
            Features {
                tags: vec![("aws:x".into(), "v".into())],
                ..Default::default()
            },
            "--tag",
        ),
    ];
    for (f, flag) in cases {
        let e = f.to_spec(true).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains(flag), "{flag}: {e}");
    }
    let tags = Features {
        tags: vec![("k".into(), "v".into())],
        ..Default::default()
    };
    assert!(tags
        .to_spec(false)
        .unwrap_err()
        .to_string()
        .contains("--tag"));
}
