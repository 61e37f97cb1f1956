"""Cluster profiles: what a sandbox's HyperPod + EKS cluster already has before the plugin runs.

    bare            today's empty cluster: one instance group (ml.g5.8xlarge), no nodes, nothing installed.
    fresh           a new HyperPod EKS cluster (tests/env/README.md, "Cluster profiles"): instance groups
                    worker-group-1 (ml.g5.8xlarge, 1 GPU) and cpu-group-1 (ml.c5.2xlarge), one node per
                    instance with HyperPod's labels; HyperPod's Helm release `dependencies` in kube-system
                    with its workloads (NVIDIA device plugin 0.16.1 among them); no cert-manager.
    metrics-server  fresh + the EKS add-on metrics-server.
    addon           fresh + the inference operator as the EKS add-on amazon-sagemaker-hyperpod-inference,
                    with its dependency add-ons and IAM roles, as the HyperPod console installs it.

Everything is made through the emulators' own APIs (boto3 against the AWS emulator, the kube
emulator's object hook), so the result is what a test would see on such a cluster.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
from typing import Callable

PROFILES = ("fresh", "bare", "metrics-server", "addon")

# GPUs and (vCPU, GiB) of the instance types the profiles use or tests ask for.
INSTANCE_SHAPES = {
    "ml.c5.2xlarge": (0, 8, 16),
    "ml.m5.xlarge": (0, 4, 16),
    "ml.g5.xlarge": (1, 4, 16),
    "ml.g5.2xlarge": (1, 8, 32),
    "ml.g5.8xlarge": (1, 32, 128),
    "ml.g5.12xlarge": (4, 48, 192),
    "ml.g5.48xlarge": (8, 192, 768),
    "ml.p4d.24xlarge": (8, 96, 1152),
    "ml.p5.48xlarge": (8, 192, 2048),
}

BARE_GROUPS = [{"name": "worker-group-1", "type": "ml.g5.8xlarge", "count": 1}]
FRESH_GROUPS = [
    {"name": "worker-group-1", "type": "ml.g5.8xlarge", "count": 1},
    {"name": "cpu-group-1", "type": "ml.c5.2xlarge", "count": 1},
]

DEPENDENCIES_RELEASE = "dependencies"
NVIDIA_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.16.1"
ADDON_ROLE_PREFIX = "SageMakerHyperPodInference"


def instance_groups(profile: str, spec: dict) -> list[dict]:
    if spec.get("instanceGroups"):
        return spec["instanceGroups"]
    if profile == "bare":
        g = dict(BARE_GROUPS[0])
        g["type"] = spec.get("instanceType", g["type"])
        g["count"] = int(spec.get("instanceCount", g["count"]))
        return [g]
    return [dict(g) for g in FRESH_GROUPS]


def _helm_meta(ns: str) -> tuple[dict, dict]:
    labels = {"app.kubernetes.io/managed-by": "Helm"}
    ann = {"meta.helm.sh/release-name": DEPENDENCIES_RELEASE, "meta.helm.sh/release-namespace": "kube-system"}
    return labels, ann


def _workload(kind: str, name: str, ns: str, pod_labels: dict, image: str, ready: int, extra_labels: dict | None = None) -> dict:
    labels, ann = _helm_meta(ns)
    labels = {**labels, **pod_labels, **(extra_labels or {})}
    obj = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": ann, "generation": 1},
        "spec": {
            "selector": {"matchLabels": pod_labels},
            "template": {"metadata": {"labels": pod_labels}, "spec": {"containers": [{"name": name.split("-")[-1] or name, "image": image}]}},
        },
    }
    if kind == "DaemonSet":
        obj["status"] = {"currentNumberScheduled": ready, "desiredNumberScheduled": ready, "numberAvailable": ready,
                         "numberMisscheduled": 0, "numberReady": ready, "observedGeneration": 1, "updatedNumberScheduled": ready}
    else:
        obj["spec"]["replicas"] = 1
        obj["status"] = {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1,
                         "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                                        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}
    return obj


def dependencies_objects(nodes: list[dict]) -> list[dict]:
    """The workloads of HyperPod's dependencies chart with its defaults (helm_chart/HyperPodHelmChart):
    NVIDIA device plugin 0.16.1 (kube-system), Neuron and EFA device plugins, health-monitoring-agent
    (aws-hyperpod), training operator (kubeflow), MPI operator; plus the release's storage Secret."""
    gpu_nodes = sum(1 for n in nodes if "nvidia.com/gpu" in n["status"]["allocatable"])
    objs = [
        _workload("DaemonSet", "dependencies-nvidia-device-plugin", "kube-system",
                  {"app.kubernetes.io/name": "nvidia-device-plugin", "app.kubernetes.io/instance": DEPENDENCIES_RELEASE},
                  NVIDIA_PLUGIN_IMAGE, gpu_nodes, {"app.kubernetes.io/version": "0.16.1", "helm.sh/chart": "nvidia-device-plugin-0.16.1"}),
        _workload("DaemonSet", "neuron-device-plugin-daemonset", "kube-system", {"name": "neuron-device-plugin-ds"},
                  "public.ecr.aws/neuron/neuron-device-plugin:2.22.4.0", 0),
        _workload("DaemonSet", "dependencies-aws-efa-k8s-device-plugin", "kube-system",
                  {"name": "dependencies-aws-efa-k8s-device-plugin"}, "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efa-k8s-device-plugin:v0.5.6", 0),
        _workload("DaemonSet", "health-monitoring-agent", "aws-hyperpod", {"app": "health-monitoring-agent"},
                  "767398015722.dkr.ecr.us-west-2.amazonaws.com/hyperpod-health-monitoring-agent:1.0.742.0_1.0.241.0", gpu_nodes),
        _workload("Deployment", "dependencies-training-operators", "kubeflow", {"control-plane": "kubeflow-training-operator"},
                  "kubeflow/training-operator:v1-855e096", 1),
        _workload("Deployment", "dependencies-mpi-operator", "kube-system", {"app": "mpi-operator"}, "mpioperator/mpi-operator:0.5", 1),
    ]
    manifest = "\n".join("---\n# Source: %s\n%s" % (o["metadata"]["name"], json.dumps({k: v for k, v in o.items() if k != "status"}))
                         for o in objs)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    release = {
        "name": DEPENDENCIES_RELEASE,
        "info": {"first_deployed": now, "last_deployed": now, "deleted": "", "description": "Install complete", "status": "deployed"},
        "chart": {"metadata": {"name": "hyperpod-helm-chart", "version": "0.1.0", "appVersion": "1.16.0", "apiVersion": "v2",
                               "description": "A Helm chart for Kubernetes", "type": "application"},
                  "lock": None, "templates": [], "values": {}, "schema": None, "files": []},
        "config": {},
        "manifest": manifest,
        "version": 1,
        "namespace": "kube-system",
    }
    # Helm's storage: base64(gzip(JSON)) as the Secret's `release` data (itself base64 in the API).
    inner = base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()
    objs.append({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.%s.v1" % DEPENDENCIES_RELEASE, "namespace": "kube-system",
                     "labels": {"name": DEPENDENCIES_RELEASE, "owner": "helm", "status": "deployed", "version": "1"}},
        "data": {"release": base64.b64encode(inner.encode()).decode()},
    })
    return objs


def nodes_for(groups: list[dict], cluster: str, region: str) -> list[dict]:
    """One Ready node per instance, labelled as HyperPod labels them."""
    out = []
    seq = 0
    for g in groups:
        gpus, cpu, mem = INSTANCE_SHAPES.get(g["type"], (0, 4, 16))
        for _ in range(int(g.get("count", 1))):
            seq += 1
            name = "hyperpod-i-0%s%03d" % (hashlib.sha1((cluster + g["name"]).encode()).hexdigest()[:13], seq)
            alloc = {"cpu": "%dm" % (cpu * 1000 - 90), "memory": "%dKi" % (mem * 1024 * 1024 - 900000),
                     "pods": "110", "ephemeral-storage": "95491281146"}
            if gpus:
                alloc["nvidia.com/gpu"] = str(gpus)
            capacity = dict(alloc, cpu=str(cpu), memory="%dKi" % (mem * 1024 * 1024))
            out.append({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": {
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/hostname": name,
                    "node.kubernetes.io/instance-type": g["type"],
                    "sagemaker.amazonaws.com/instance-group-name": g["name"],
                    "sagemaker.amazonaws.com/node-health-status": "Schedulable",
                    "sagemaker.amazonaws.com/compute-type": "hyperpod",
                    "topology.kubernetes.io/region": region,
                    "topology.kubernetes.io/zone": region + "a",
                }},
                "spec": {"providerID": "aws:///%sa/sagemaker/cluster/%s" % (region, name)},
                "status": {
                    "capacity": capacity,
                    "allocatable": alloc,
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                    "message": "kubelet is posting ready status"}],
                    "nodeInfo": {"kubeletVersion": "v1.31.7-eks-473151a", "architecture": "amd64", "operatingSystem": "linux",
                                 "containerRuntimeVersion": "containerd://1.7.27"},
                },
            })
    return out


def _role(iam, name: str, subject: str, oidc_host: str, account: str, managed: list[str]) -> str:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{oidc_host}"},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {f"{oidc_host}:sub": subject, f"{oidc_host}:aud": "sts.amazonaws.com"}}},
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"},
    ]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    for p in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=p)
    return arn


def _addon(eks, cluster: str, name: str, **kw) -> None:
    eks.create_addon(clusterName=cluster, addonName=name, resolveConflicts="OVERWRITE", **kw)
    eks.describe_addon(clusterName=cluster, addonName=name)  # CREATING -> ACTIVE, objects pushed


def install_inference_addon(client: Callable, spec: dict, out: dict, account: str) -> None:
    """The console's inference feature: roles, dependency add-ons, then the operator add-on."""
    region, eks_cluster = spec.get("region", "us-west-2"), spec["eksCluster"]
    iam, eks = client("iam", region), client("eks", region)
    oidc_host = out["oidcIssuer"].split("://", 1)[-1]
    short = spec.get("hyperpodCluster") or eks_cluster
    iam.create_open_id_connect_provider(Url=out["oidcIssuer"], ClientIDList=["sts.amazonaws.com"],
                                       ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
    sys_ns = "hyperpod-inference-system"
    execution = _role(iam, f"{ADDON_ROLE_PREFIX}-{short}"[:64], f"system:serviceaccount:{sys_ns}:hyperpod-inference-controller-manager",
                      oidc_host, account, ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"])
    s3 = _role(iam, f"{short}-console-s3-csi"[:64], "system:serviceaccount:kube-system:s3-csi-driver-sa", oidc_host, account, [])
    fsx = _role(iam, f"{short}-console-fsx-csi"[:64], "system:serviceaccount:kube-system:fsx-csi-controller-sa", oidc_host, account,
                ["arn:aws:iam::aws:policy/AmazonFSxFullAccess"])
    alb = _role(iam, f"{short}-console-alb"[:64], f"system:serviceaccount:{sys_ns}:aws-load-balancer-controller", oidc_host, account, [])
    keda = _role(iam, f"{short}-console-keda"[:64], f"system:serviceaccount:{sys_ns}:keda-operator", oidc_host, account, [])
    _addon(eks, eks_cluster, "aws-mountpoint-s3-csi-driver", serviceAccountRoleArn=s3)
    _addon(eks, eks_cluster, "aws-fsx-csi-driver", serviceAccountRoleArn=fsx)
    _addon(eks, eks_cluster, "metrics-server")
    _addon(eks, eks_cluster, "cert-manager")
    cfg = {
        "executionRoleArn": execution,
        "tlsCertificateS3Bucket": spec.get("bucket") or f"{short}-tls",
        "hyperpodClusterArn": out.get("hyperpodClusterArn", ""),
        "alb": {"enabled": True, "serviceAccount": {"create": True, "roleArn": alb}},
        "keda": {"enabled": True, "auth": {"aws": {"irsa": {"roleArn": keda}}}},
    }
    _addon(eks, eks_cluster, "amazon-sagemaker-hyperpod-inference", configurationValues=json.dumps(cfg))
    out["addonExecutionRoleArn"] = execution


def apply(profile: str, spec: dict, out: dict, client: Callable, push: Callable, account: str) -> None:
    """Makes the seeded clusters look like `profile` (after the clusters exist)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} (one of {', '.join(PROFILES)})")
    out["profile"] = profile
    if profile == "bare" or not spec.get("eksCluster"):
        return
    region, cluster = spec.get("region", "us-west-2"), spec["eksCluster"]
    nodes = nodes_for(instance_groups(profile, spec), cluster, region)
    push(cluster, nodes + dependencies_objects(nodes))
    out["nodes"] = [n["metadata"]["name"] for n in nodes]
    if profile == "metrics-server":
        _addon(client("eks", region), cluster, "metrics-server")
    elif profile == "addon":
        install_inference_addon(client, spec, out, account)
