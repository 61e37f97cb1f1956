#!/usr/bin/env python3
"""AWS API emulator for the kubectl-hyperpod tests: moto's server, in-process,
plus an extension that fills the gaps moto 5.2.5 has for this project.

    python tests/env/aws_emulator.py --state-file PATH [--port 0] [--exit-on-stdin-eof]

When ready, PATH holds (written atomically)
    {"url": "http://127.0.0.1:PORT", "port": PORT, "pid": PID}
Point the real AWS CLI at it with AWS_ENDPOINT_URL=<url>, AWS_ACCESS_KEY_ID=testing,
AWS_SECRET_ACCESS_KEY=testing, AWS_DEFAULT_REGION=us-west-2.

Environment read at start:
    HP_KUBE_URL       base URL of the Kubernetes API emulator (tests/env/kube_emulator.py);
                      an EKS cluster X gets endpoint $HP_KUBE_URL/clusters/X
    HP_KUBE_CA_DATA   base64 of the PEM CA of that emulator (certificateAuthority.data)

What the extension adds to moto:
  * EKS add-ons: create/describe/list/update/delete-addon, describe-addon-versions,
    describe-addon-configuration, describe-update/list-updates for add-on updates,
    tags on add-ons. CREATING -> ACTIVE on the first describe (or after 1 s),
    DELETING -> gone on the next read. Real error codes and messages.
    amazon-sagemaker-hyperpod-inference: configuration checked against its schema, then
    (inference_addon.py) dependency add-ons and versions, the execution-role name rule
    (CREATE_FAILED) and roles its pods cannot assume (DEGRADED), with EKS's health issues.
    When an add-on becomes ACTIVE (or DEGRADED) and HP_KUBE_URL is set, the Kubernetes objects the
    real add-on installs (Deployments, ServiceAccounts, CSIDrivers, CRDs) are pushed to
    the emulated cluster through the kube emulator's /_emulator/objects hook.
  * eks describe-cluster: a real moto VPC (+2 subnets) behind resourcesVpcConfig.vpcId,
    an OIDC issuer unique per cluster, endpoint/CA pointing at the kube emulator.
  * sagemaker create/describe-cluster: Orchestrator (and NodeRecovery) kept and returned;
    InstanceGroups[].InstanceType are the profile's groups, the same ones its nodes are made from.
  * sagemaker describe-hub-content (jumpstart_hub.py): SageMakerPublicHub with the JumpStart models
    the tests and docs use (HubContentDocument a JSON string with SupportedInferenceInstanceTypes),
    private hubs added by a hook; ResourceNotFound for unknown hubs and contents.
  * Test hooks (plain HTTP JSON on the same port):
      GET|PUT /_hp/clusters/<eks-cluster>/addon-config   per-cluster add-on behaviour:
          {"readyAfterDescribes": 1, "readyAfterSeconds": 1.0,
           "dependencyCheck": true, "roleCheck": true, "pushKubeObjects": true,
           "failures": {"<addon-name>": {"status": "CREATE_FAILED",
                                         "issues": [{"code": "...", "message": "..."}]}}}
      POST /_hp/seed  {"region", "eksCluster", "hyperpodCluster", "bucket", "profile"?} -> creates them
           (EKS cluster; HyperPod cluster with Orchestrator.Eks.ClusterArn; S3 bucket) and makes them
           look like the profile (profiles.py: bare (the default here), fresh, metrics-server, addon),
           returns {"eksClusterArn", "vpcId", "oidcIssuer", "hyperpodClusterArn", "bucket", "profile", ...}
      PUT  /_hp/hubs/<hub>/<content>[?region=]  {"supportedInferenceInstanceTypes": [...]}: a model
           in a private JumpStart hub (describe-hub-content --hub-name <hub>)
      PUT  /_hp/deny  {"accessKey": "<id>", "actions": ["iam:GetAccountAuthorizationDetails"]}: IAM
           answers that access key's calls of those actions with AccessDenied (403), as for a
           caller whose policies lack them
      GET  /_hp/health
      GET|PUT /_hp/latency  {"seconds": 0.0}: added before answering every AWS API request (not
           the hooks), outside the moto lock so concurrent requests wait together: a stand-in
           for the round trip to a distant region, for benchmarks. Global (all clusters).
      POST /moto-api/reset  (moto's own; also clears the add-ons)
"""

from __future__ import annotations

import os

# Must be set before moto is imported (attaching arn:aws:iam::aws:policy/... needs it).
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

import argparse  # noqa: E402
import base64  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import ssl  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402

from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inference_addon  # noqa: E402  (tests/env/inference_addon.py: what EKS checks for the operator add-on)
import jumpstart_hub  # noqa: E402  (tests/env/jumpstart_hub.py: SageMaker DescribeHubContent)
import profiles  # noqa: E402  (tests/env/profiles.py: what a seeded cluster already has)
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

KUBE_URL = os.environ.get("HP_KUBE_URL", "").rstrip("/")
KUBE_CA_DATA = os.environ.get("HP_KUBE_CA_DATA", "")

K8S_VERSIONS = ["1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34"]
DEFAULT_CLUSTER_VERSION = "1.31"


def log(msg: str) -> None:
    print(f"aws_emulator: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# EKS cluster: VPC, unique OIDC issuer, endpoint + CA of the kube emulator
# --------------------------------------------------------------------------------------


def _patch_eks_cluster() -> None:
    from moto.ec2.models import ec2_backends
    from moto.eks import models as eks_models

    orig_create = eks_models.EKSBackend.create_cluster

    def create_cluster(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not kwargs.get("version"):
            kwargs["version"] = DEFAULT_CLUSTER_VERSION
        cluster = orig_create(self, *args, **kwargs)
        try:
            _decorate_cluster(self, cluster, ec2_backends)
        except Exception as e:  # keep the cluster usable even if decoration fails
            log(f"decorating cluster {cluster.name} failed: {e!r}")
        return cluster

    eks_models.EKSBackend.create_cluster = create_cluster

    orig_delete = eks_models.EKSBackend.delete_cluster

    def delete_cluster(self, name):  # type: ignore[no-untyped-def]
        result = orig_delete(self, name)
        ADDONS.drop_cluster(self.account_id, self.region_name, name)
        return result

    eks_models.EKSBackend.delete_cluster = delete_cluster


def _decorate_cluster(backend, cluster, ec2_backends) -> None:  # type: ignore[no-untyped-def]
    region = backend.region_name
    oidc_id = uuid.uuid4().hex.upper()
    cluster.identity = {
        "oidc": {"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc_id}"}
    }
    if KUBE_URL:
        cluster.endpoint = f"{KUBE_URL}/clusters/{cluster.name}"
    if KUBE_CA_DATA:
        cluster.certificate_authority = {"data": KUBE_CA_DATA}

    vpc_cfg = dict(cluster.resources_vpc_config or {})
    ec2 = ec2_backends[backend.account_id][region]
    vpc_id = None
    for subnet_id in vpc_cfg.get("subnetIds") or []:
        try:
            vpc_id = ec2.get_subnet(subnet_id).vpc_id
            break
        except Exception:
            pass
    if vpc_id is None:
        vpc = ec2.create_vpc(cidr_block="10.0.0.0/16")
        vpc_id = vpc.id
        ec2.create_tags([vpc_id], {"Name": f"eks-{cluster.name}"})
        subnets = []
        for i, az in enumerate(["a", "b"]):
            subnet = ec2.create_subnet(
                vpc_id=vpc_id,
                cidr_block=f"10.0.{i}.0/24",
                availability_zone=f"{region}{az}",
            )
            subnets.append(subnet.id)
        if not vpc_cfg.get("subnetIds"):
            vpc_cfg["subnetIds"] = subnets
    vpc_cfg["vpcId"] = vpc_id
    try:
        sg = ec2.create_security_group(
            name=f"eks-cluster-sg-{cluster.name}",
            description="EKS created security group applied to ENI",
            vpc_id=vpc_id,
        )
        vpc_cfg["clusterSecurityGroupId"] = sg.id
    except Exception as e:
        log(f"security group for {cluster.name}: {e!r}")
    vpc_cfg.setdefault("securityGroupIds", [])
    vpc_cfg.setdefault("endpointPublicAccess", True)
    vpc_cfg.setdefault("endpointPrivateAccess", False)
    vpc_cfg.setdefault("publicAccessCidrs", ["0.0.0.0/0"])
    cluster.resources_vpc_config = vpc_cfg


# --------------------------------------------------------------------------------------
# IAM: the real message for a duplicate OIDC provider
# --------------------------------------------------------------------------------------


def _patch_iam() -> None:
    from moto.iam import models as iam_models
    from moto.iam.exceptions import EntityAlreadyExists

    orig = iam_models.IAMBackend.create_open_id_connect_provider

    def create_open_id_connect_provider(self, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return orig(self, url, *args, **kwargs)
        except EntityAlreadyExists:
            raise EntityAlreadyExists(f"Provider with url {url} already exists.")

    iam_models.IAMBackend.create_open_id_connect_provider = create_open_id_connect_provider


# --------------------------------------------------------------------------------------
# SageMaker cluster: keep Orchestrator
# --------------------------------------------------------------------------------------


def _patch_sagemaker_cluster() -> None:
    from moto.sagemaker import models as sm_models
    from moto.sagemaker import responses as sm_responses

    extra_keys = ("Orchestrator", "NodeRecovery", "ClusterRole", "NodeProvisioningMode")
    orig_create = sm_responses.SageMakerResponse.create_cluster

    def create_cluster(self):  # type: ignore[no-untyped-def]
        result = orig_create(self)
        name = self._get_param("ClusterName")
        cluster = self.sagemaker_backend.clusters.get(name)
        if cluster is not None:
            cluster.hp_extra = {
                k: self._get_param(k) for k in extra_keys if self._get_param(k) is not None
            }
        return result

    sm_responses.SageMakerResponse.create_cluster = create_cluster

    orig_describe = sm_models.Cluster.describe

    def describe(self):  # type: ignore[no-untyped-def]
        d = orig_describe(self)
        d.update(getattr(self, "hp_extra", {}) or {})
        return d

    sm_models.Cluster.describe = describe


# --------------------------------------------------------------------------------------
# EKS add-ons
# --------------------------------------------------------------------------------------

HYPERPOD_INFERENCE = "amazon-sagemaker-hyperpod-inference"

HYPERPOD_INFERENCE_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "required": ["executionRoleArn", "tlsCertificateS3Bucket"],
    "properties": {
        "executionRoleArn": {"type": "string"},
        "tlsCertificateS3Bucket": {"type": "string"},
        "hyperpodClusterArn": {"type": "string"},
        "jumpstartGatedModelDownloadRoleArn": {"type": "string"},
        "alb": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "serviceAccount": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "create": {"type": "boolean"},
                        "roleArn": {"type": "string"},
                    },
                },
            },
        },
        "keda": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "auth": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "aws": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "irsa": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {"enabled": {"type": "boolean"}, "roleArn": {"type": "string"}},
                                }
                            },
                        }
                    },
                },
            },
        },
    },
}

GENERIC_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": True,
    "properties": {},
}

# name -> (type, owner, versions newest first, default version)
ADDON_CATALOG: dict[str, dict] = {
    "aws-mountpoint-s3-csi-driver": {
        "type": "storage",
        "owner": "aws",
        "versions": ["v2.1.0-eksbuild.1", "v1.15.0-eksbuild.1", "v1.14.1-eksbuild.1"],
        "default": "v2.1.0-eksbuild.1",
    },
    "aws-fsx-csi-driver": {
        "type": "storage",
        "owner": "aws",
        "versions": ["v1.7.0-eksbuild.1", "v1.6.0-eksbuild.1"],
        "default": "v1.7.0-eksbuild.1",
    },
    "metrics-server": {
        "type": "observability",
        "owner": "community",
        "versions": ["v0.8.0-eksbuild.2", "v0.7.2-eksbuild.4", "v0.7.2-eksbuild.3"],
        "default": "v0.8.0-eksbuild.2",
    },
    "cert-manager": {
        "type": "security",
        "owner": "community",
        "versions": ["v1.19.1-eksbuild.1", "v1.18.2-eksbuild.2"],
        "default": "v1.19.1-eksbuild.1",
    },
    HYPERPOD_INFERENCE: {
        "type": "machine-learning",
        "owner": "aws",
        "versions": [
            "v1.5.0-eksbuild.1",
            "v1.4.0-eksbuild.1",
            "v1.3.0-eksbuild.1",
            "v1.2.0-eksbuild.1",
            "v1.1.0-eksbuild.1",
            "v1.0.0-eksbuild.1",
        ],
        "default": "v1.5.0-eksbuild.1",
        "schema": HYPERPOD_INFERENCE_SCHEMA,
    },
    "vpc-cni": {
        "type": "networking",
        "owner": "aws",
        "versions": ["v1.20.4-eksbuild.1", "v1.19.2-eksbuild.1"],
        "default": "v1.20.4-eksbuild.1",
    },
    "coredns": {
        "type": "networking",
        "owner": "aws",
        "versions": ["v1.11.4-eksbuild.2", "v1.11.3-eksbuild.1"],
        "default": "v1.11.4-eksbuild.2",
    },
    "kube-proxy": {
        "type": "networking",
        "owner": "aws",
        "versions": ["v1.31.3-eksbuild.2", "v1.31.2-eksbuild.3"],
        "default": "v1.31.3-eksbuild.2",
    },
    "eks-pod-identity-agent": {
        "type": "security",
        "owner": "aws",
        "versions": ["v1.3.4-eksbuild.1"],
        "default": "v1.3.4-eksbuild.1",
    },
    "aws-ebs-csi-driver": {
        "type": "storage",
        "owner": "aws",
        "versions": ["v1.40.0-eksbuild.1", "v1.38.1-eksbuild.2"],
        "default": "v1.40.0-eksbuild.1",
    },
}


DEFAULT_ADDON_CONFIG = {
    # The add-on is ACTIVE when it has been described this many times since it was
    # created/updated, or when this many seconds have passed (null: never by time).
    "readyAfterDescribes": 1,
    "readyAfterSeconds": 1.0,
    # amazon-sagemaker-hyperpod-inference fails (CREATE_FAILED) unless its dependency
    # add-ons exist at or above their minimum versions and its execution role's name starts
    # with SageMakerHyperPodInference (inference_addon.py).
    "dependencyCheck": True,
    # ... and is DEGRADED when a role of its configuration does not exist or does not trust the
    # ServiceAccount that assumes it.
    "roleCheck": True,
    # Push the objects the add-on installs to the kube emulator when it becomes ACTIVE.
    "pushKubeObjects": True,
    # Forced outcomes: {"<addon-name>": {"status": "CREATE_FAILED", "issues": [...]}}
    "failures": {},
}


class EksError(Exception):
    def __init__(self, code: str, status: int, message: str, **fields: str | None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.fields = fields

    def response(self) -> Response:
        body = {k: v for k, v in self.fields.items()}
        body["message"] = self.message
        return Response(
            json.dumps(body),
            status=self.status,
            headers={"x-amzn-ErrorType": self.code, "Content-Type": "application/json"},
        )


def not_found(message: str, **f: str | None) -> EksError:
    return EksError("ResourceNotFoundException", 404, message, **f)


def invalid(message: str, **f: str | None) -> EksError:
    return EksError("InvalidParameterException", 400, message, **f)


def in_use(message: str, **f: str | None) -> EksError:
    return EksError("ResourceInUseException", 409, message, **f)


def _now() -> float:
    return round(time.time(), 3)


def _parse_config_values(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        import yaml

        return yaml.safe_load(text)
    except Exception:
        return None


def _schema_errors(value: object, schema: dict, path: str = "$") -> list[str]:
    errs: list[str] = []
    t = schema.get("type")
    if t == "object":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__} found, object expected"]
        for req in schema.get("required", []):
            if req not in value:
                errs.append(f"{path}.{req}: is missing but it is required")
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                errs.extend(_schema_errors(v, props[k], f"{path}.{k}"))
            elif schema.get("additionalProperties") is False:
                errs.append(
                    f"{path}.{k}: is not defined in the schema and the schema does not allow additional properties"
                )
    elif t == "string" and not isinstance(value, str):
        errs.append(f"{path}: {type(value).__name__} found, string expected")
    elif t == "boolean" and not isinstance(value, bool):
        errs.append(f"{path}: {type(value).__name__} found, boolean expected")
    return errs


class AddonStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        # (account, region, cluster) -> {addon name -> record}
        self.addons: dict[tuple[str, str, str], dict[str, dict]] = {}
        # (account, region, cluster) -> config
        self.configs: dict[tuple[str, str, str], dict] = {}
        # update id -> update record (with "_key" and "_addon")
        self.updates: dict[str, dict] = {}

    def reset(self) -> None:
        with self.lock:
            self.addons.clear()
            self.configs.clear()
            self.updates.clear()

    def drop_cluster(self, account: str, region: str, cluster: str) -> None:
        with self.lock:
            self.addons.pop((account, region, cluster), None)

    def config(self, key: tuple[str, str, str]) -> dict:
        cfg = copy.deepcopy(DEFAULT_ADDON_CONFIG)
        cfg.update(self.configs.get(key, {}))
        return cfg


ADDONS = AddonStore()


def _eks_cluster(account: str, region: str, name: str):  # type: ignore[no-untyped-def]
    from moto.eks.models import eks_backends

    cluster = eks_backends[account][region].clusters.get(name)
    if cluster is None:
        raise not_found(f"No cluster found for name: {name}.", clusterName=name)
    return cluster


def _public_addon(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if not k.startswith("_")}


class EksAddonApi:
    """REST routes of the EKS add-on API (restJson, paths as in the EKS service model)."""

    ROUTES = [
        ("POST", r"^/clusters/(?P<cluster>[^/]+)/addons/?$", "create_addon"),
        ("GET", r"^/clusters/(?P<cluster>[^/]+)/addons/?$", "list_addons"),
        ("GET", r"^/clusters/(?P<cluster>[^/]+)/addons/(?P<addon>[^/]+)/?$", "describe_addon"),
        ("POST", r"^/clusters/(?P<cluster>[^/]+)/addons/(?P<addon>[^/]+)/update/?$", "update_addon"),
        ("DELETE", r"^/clusters/(?P<cluster>[^/]+)/addons/(?P<addon>[^/]+)/?$", "delete_addon"),
        ("GET", r"^/addons/supported-versions/?$", "describe_addon_versions"),
        ("GET", r"^/addons/configuration-schemas/?$", "describe_addon_configuration"),
        ("GET", r"^/clusters/(?P<cluster>[^/]+)/updates/(?P<update>[^/]+)/?$", "describe_update"),
        ("GET", r"^/clusters/(?P<cluster>[^/]+)/updates/?$", "list_updates"),
        ("GET", r"^/tags/(?P<arn>.+)$", "list_tags"),
        ("POST", r"^/tags/(?P<arn>.+)$", "tag_resource"),
        ("DELETE", r"^/tags/(?P<arn>.+)$", "untag_resource"),
    ]

    def __init__(self) -> None:
        self.routes = [(m, re.compile(p), h) for m, p, h in self.ROUTES]

    def handle(self, req: Request, account: str, region: str) -> Response | None:
        path = req.path
        for method, rx, handler in self.routes:
            if req.method != method:
                continue
            m = rx.match(path)
            if not m:
                continue
            groups = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
            if handler in ("list_tags", "tag_resource", "untag_resource"):
                if ":addon/" not in groups["arn"]:
                    return None  # cluster tags: moto's own
            if handler in ("describe_update", "list_updates") and not req.args.get("addonName"):
                return None  # cluster updates: moto's own
            try:
                with ADDONS.lock:
                    body = getattr(self, handler)(req, account, region, **groups)
                return Response(json.dumps(body), status=200, content_type="application/json")
            except EksError as e:
                return e.response()
        return None

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _body(req: Request) -> dict:
        data = req.get_data(as_text=True)
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            raise invalid("Request body is not valid JSON")

    def _store(self, account: str, region: str, cluster: str) -> tuple[tuple, dict]:
        _eks_cluster(account, region, cluster)
        key = (account, region, cluster)
        return key, ADDONS.addons.setdefault(key, {})

    def _advance(self, key: tuple, rec: dict, reading: bool) -> None:
        """Move an add-on through its transitional states."""
        status = rec["status"]
        if status not in ("CREATING", "UPDATING"):
            return
        cfg = ADDONS.config(key)
        if reading:
            rec["_reads"] = rec.get("_reads", 0) + 1
        ready = rec.get("_reads", 0) >= int(cfg.get("readyAfterDescribes") or 0)
        secs = cfg.get("readyAfterSeconds")
        if secs is not None and time.monotonic() - rec["_since"] >= float(secs):
            ready = True
        if not ready:
            return
        rec["status"] = rec.pop("_target", "ACTIVE")
        rec["modifiedAt"] = _now()
        if rec["status"] == "ACTIVE":
            rec["health"] = {"issues": []}
            for upd in ADDONS.updates.values():
                if upd["_addon"] == rec["addonArn"] and upd["status"] == "InProgress":
                    upd["status"] = "Successful"
            if cfg.get("pushKubeObjects"):
                push_addon_objects(key[2], rec)
        else:
            rec["health"] = {"issues": rec.pop("_issues", [])}
            if rec["status"] == "DEGRADED" and cfg.get("pushKubeObjects"):
                push_addon_objects(key[2], rec)  # installed; its pods cannot get credentials
            for upd in ADDONS.updates.values():
                if upd["_addon"] == rec["addonArn"] and upd["status"] == "InProgress":
                    upd["status"] = "Failed"
                    upd["errors"] = [
                        {"errorCode": "Unknown", "errorMessage": i.get("message", ""), "resourceIds": []}
                        for i in rec["health"]["issues"]
                    ]

    def _get(self, key: tuple, store: dict, cluster: str, name: str, reading: bool) -> dict:
        rec = store.get(name)
        if rec is not None and rec["status"] == "DELETING":
            # A DELETING add-on is gone at the next read.
            del store[name]
            rec = None
        if rec is None:
            raise not_found(
                f"No addon: {name} found in cluster: {cluster}", clusterName=cluster, addonName=name
            )
        self._advance(key, rec, reading)
        return rec

    def _validate_version(self, name: str, version: str | None, cluster_version: str) -> str:
        cat = ADDON_CATALOG.get(name)
        if cat is None:
            raise invalid(
                f"Addon {name} specified is not supported in {cluster_version} kubernetes version",
                addonName=name,
            )
        if version is None or version == "latest":
            return cat["versions"][0] if version == "latest" else cat["default"]
        if version not in cat["versions"]:
            raise invalid("Addon version specified is not supported", addonName=name)
        return version

    def _validate_config(self, name: str, text: str | None, cluster: str) -> None:
        if text is None:
            return
        value = _parse_config_values(text)
        if not isinstance(value, dict):
            raise invalid(
                "ConfigurationValue provided in request is not supported: "
                "Json schema validation failed with error: [$: string found, object expected]",
                clusterName=cluster,
                addonName=name,
            )
        schema = ADDON_CATALOG.get(name, {}).get("schema")
        if schema:
            errs = _schema_errors(value, schema)
            if errs:
                raise invalid(
                    "ConfigurationValue provided in request is not supported: "
                    f"Json schema validation failed with error: [{', '.join(errs)}]",
                    clusterName=cluster,
                    addonName=name,
                )

    @staticmethod
    def _validate_resolve(value: str | None) -> None:
        if value is not None and value not in ("OVERWRITE", "NONE", "PRESERVE"):
            raise invalid(
                f"1 validation error detected: Value '{value}' at 'resolveConflicts' failed to "
                "satisfy constraint: Member must satisfy enum value set: [OVERWRITE, NONE, PRESERVE]"
            )

    @staticmethod
    def _validate_role(arn: str | None) -> None:
        if arn is not None and not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+", arn):
            raise invalid(f"Invalid role arn format: {arn}")

    def _expected_failure(self, key: tuple, store: dict, name: str, config_text: str | None) -> dict | None:
        cfg = ADDONS.config(key)
        forced = (cfg.get("failures") or {}).get(name)
        if forced:
            return {
                "status": forced.get("status", "CREATE_FAILED"),
                "issues": forced.get("issues")
                or [{"code": "InternalFailure", "message": "Injected failure", "resourceIds": []}],
            }
        if name != HYPERPOD_INFERENCE:
            return None
        value = _parse_config_values(config_text) if config_text else {}
        value = value if isinstance(value, dict) else {}
        issues = []
        if cfg.get("dependencyCheck"):
            issues = inference_addon.dependency_issues(store) + inference_addon.execution_role_issues(value)
        if issues:
            return {"status": "CREATE_FAILED", "issues": issues}
        if cfg.get("roleCheck"):
            from moto.iam.models import iam_backends

            account, region, cluster = key
            identity = getattr(_eks_cluster(account, region, cluster), "identity", None) or {}
            issuer = (identity.get("oidc") or {}).get("issuer", "")
            issues = inference_addon.role_issues(value, iam_backends[account]["global"], issuer)
        if issues:
            return {"status": "DEGRADED", "issues": issues}
        return None

    # -- operations -----------------------------------------------------------------------

    def create_addon(self, req: Request, account: str, region: str, cluster: str) -> dict:
        body = self._body(req)
        key, store = self._store(account, region, cluster)
        cl = _eks_cluster(account, region, cluster)
        name = body.get("addonName")
        if not name:
            raise invalid("addonName is required", clusterName=cluster)
        version = self._validate_version(name, body.get("addonVersion"), cl.version)
        if name in store and store[name]["status"] != "DELETING":
            raise in_use("Addon already exists.", clusterName=cluster, addonName=name)
        self._validate_resolve(body.get("resolveConflicts"))
        if body.get("resolveConflicts") == "PRESERVE":
            raise invalid("Resolve conflicts option preserve is not supported for operation CreateAddon")
        self._validate_role(body.get("serviceAccountRoleArn"))
        config_text = body.get("configurationValues")
        self._validate_config(name, config_text, cluster)
        cat = ADDON_CATALOG[name]
        now = _now()
        rec = {
            "addonName": name,
            "clusterName": cluster,
            "status": "CREATING",
            "addonVersion": version,
            "health": {"issues": []},
            "addonArn": f"arn:aws:eks:{region}:{account}:addon/{cluster}/{name}/{uuid.uuid4()}",
            "createdAt": now,
            "modifiedAt": now,
            "tags": body.get("tags") or {},
            "publisher": "eks",
            "owner": cat["owner"],
        }
        if body.get("serviceAccountRoleArn"):
            rec["serviceAccountRoleArn"] = body["serviceAccountRoleArn"]
        if config_text is not None:
            rec["configurationValues"] = config_text
        if body.get("podIdentityAssociations"):
            rec["podIdentityAssociations"] = [
                f"arn:aws:eks:{region}:{account}:podidentityassociation/{cluster}/a-{uuid.uuid4().hex[:17]}"
                for _ in body["podIdentityAssociations"]
            ]
        rec["_resolveConflicts"] = body.get("resolveConflicts")
        rec["_since"] = time.monotonic()
        rec["_reads"] = 0
        failure = self._expected_failure(key, store, name, config_text)
        if failure is None and body.get("resolveConflicts") != "OVERWRITE" and ADDONS.config(key).get("pushKubeObjects"):
            # EKS applies the add-on's objects server-side: fields another manager owns (a Helm
            # install of the same components) are conflicts unless OVERWRITE is asked for.
            conflicts = addon_conflicts(cluster, rec)
            if conflicts:
                failure = {
                    "status": "CREATE_FAILED",
                    "issues": [
                        {
                            "code": "ConfigurationConflict",
                            "message": "Conflicts found when trying to apply. Will not continue due to resolve conflicts mode. Conflicts:\n"
                            + "\n".join(conflicts),
                            "resourceIds": None,
                        }
                    ],
                }
        if failure:
            rec["_target"] = failure["status"]
            rec["_issues"] = failure["issues"]
        store[name] = rec
        return {"addon": _public_addon(rec)}

    def describe_addon(self, req: Request, account: str, region: str, cluster: str, addon: str) -> dict:
        key, store = self._store(account, region, cluster)
        rec = self._get(key, store, cluster, addon, reading=True)
        return {"addon": _public_addon(rec)}

    def list_addons(self, req: Request, account: str, region: str, cluster: str) -> dict:
        key, store = self._store(account, region, cluster)
        for name in [n for n, r in store.items() if r["status"] == "DELETING"]:
            del store[name]
        for rec in store.values():
            self._advance(key, rec, reading=False)
        names = sorted(store)
        max_results = int(req.args.get("maxResults") or 100)
        start = int(req.args.get("nextToken") or 0)
        page = names[start : start + max_results]
        out: dict = {"addons": page}
        if start + max_results < len(names):
            out["nextToken"] = str(start + max_results)
        return out

    def update_addon(self, req: Request, account: str, region: str, cluster: str, addon: str) -> dict:
        body = self._body(req)
        key, store = self._store(account, region, cluster)
        cl = _eks_cluster(account, region, cluster)
        rec = self._get(key, store, cluster, addon, reading=False)
        if rec["status"] in ("CREATING", "UPDATING", "DELETING"):
            raise in_use(
                f"Addon {addon} cannot be updated as it is currently in {rec['status']} state",
                clusterName=cluster,
                addonName=addon,
            )
        params = []
        if body.get("addonVersion"):
            rec["addonVersion"] = self._validate_version(addon, body["addonVersion"], cl.version)
            params.append({"type": "AddonVersion", "value": rec["addonVersion"]})
        if "serviceAccountRoleArn" in body:
            self._validate_role(body["serviceAccountRoleArn"] or None)
            if body["serviceAccountRoleArn"]:
                rec["serviceAccountRoleArn"] = body["serviceAccountRoleArn"]
            else:
                rec.pop("serviceAccountRoleArn", None)
            params.append({"type": "ServiceAccountRoleArn", "value": body["serviceAccountRoleArn"]})
        if body.get("resolveConflicts"):
            self._validate_resolve(body["resolveConflicts"])
            params.append({"type": "ResolveConflicts", "value": body["resolveConflicts"]})
        if "configurationValues" in body:
            self._validate_config(addon, body["configurationValues"], cluster)
            rec["configurationValues"] = body["configurationValues"]
            params.append({"type": "ConfigurationValues", "value": body["configurationValues"]})
        rec["status"] = "UPDATING"
        rec["_since"] = time.monotonic()
        rec["_reads"] = 0
        rec["modifiedAt"] = _now()
        failure = self._expected_failure(key, store, addon, rec.get("configurationValues"))
        if failure:
            rec["_target"] = "UPDATE_FAILED" if failure["status"] == "CREATE_FAILED" else failure["status"]
            rec["_issues"] = failure["issues"]
        upd_id = str(uuid.uuid4())
        upd = {
            "id": upd_id,
            "status": "InProgress",
            "type": "AddonUpdate",
            "params": params,
            "createdAt": _now(),
            "errors": [],
            "_key": key,
            "_addon": rec["addonArn"],
            "_addonName": addon,
        }
        ADDONS.updates[upd_id] = upd
        return {"update": _public_addon(upd)}

    def delete_addon(self, req: Request, account: str, region: str, cluster: str, addon: str) -> dict:
        key, store = self._store(account, region, cluster)
        rec = self._get(key, store, cluster, addon, reading=False)
        rec["status"] = "DELETING"
        rec["modifiedAt"] = _now()
        preserve = req.args.get("preserve", "false").lower() == "true"
        if not preserve and ADDONS.config(key).get("pushKubeObjects"):
            delete_addon_objects(cluster, rec)
        return {"addon": _public_addon(rec)}

    def describe_addon_versions(self, req: Request, account: str, region: str) -> dict:
        k8s = req.args.get("kubernetesVersion")
        want_name = req.args.get("addonName")
        want_types = req.args.getlist("types")
        want_owners = req.args.getlist("owners")
        want_publishers = req.args.getlist("publishers")
        out = []
        for name, cat in ADDON_CATALOG.items():
            if want_name and name != want_name:
                continue
            if want_types and cat["type"] not in want_types:
                continue
            if want_owners and cat["owner"] not in want_owners:
                continue
            if want_publishers and "eks" not in want_publishers:
                continue
            versions = []
            for v in cat["versions"]:
                cluster_versions = [k8s] if k8s else K8S_VERSIONS
                versions.append(
                    {
                        "addonVersion": v,
                        "architecture": ["amd64", "arm64"],
                        "computeTypes": ["ec2"],
                        "compatibilities": [
                            {
                                "clusterVersion": cv,
                                "platformVersions": ["*"],
                                "defaultVersion": v == cat["default"],
                            }
                            for cv in cluster_versions
                        ],
                        "requiresConfiguration": name == HYPERPOD_INFERENCE,
                        "requiresIamPermissions": name
                        in (HYPERPOD_INFERENCE, "aws-mountpoint-s3-csi-driver", "aws-fsx-csi-driver"),
                    }
                )
            out.append(
                {
                    "addonName": name,
                    "type": cat["type"],
                    "addonVersions": versions,
                    "publisher": "eks",
                    "owner": cat["owner"],
                }
            )
        return {"addons": out}

    def describe_addon_configuration(self, req: Request, account: str, region: str) -> dict:
        name = req.args.get("addonName", "")
        version = req.args.get("addonVersion", "")
        cat = ADDON_CATALOG.get(name)
        if cat is None or version not in cat["versions"]:
            raise not_found(f"Addon {name} with version {version} not found", addonName=name)
        return {
            "addonName": name,
            "addonVersion": version,
            "configurationSchema": json.dumps(cat.get("schema") or GENERIC_SCHEMA),
            "podIdentityConfiguration": [],
        }

    def describe_update(self, req: Request, account: str, region: str, cluster: str, update: str) -> dict:
        key, store = self._store(account, region, cluster)
        upd = ADDONS.updates.get(update)
        if upd is None or upd["_key"] != key:
            raise not_found(f"No update found for ID: {update}", clusterName=cluster)
        name = upd["_addonName"]
        if name in store:
            self._advance(key, store[name], reading=True)
        return {"update": _public_addon(upd)}

    def list_updates(self, req: Request, account: str, region: str, cluster: str) -> dict:
        key, store = self._store(account, region, cluster)
        name = req.args.get("addonName")
        if name not in store:
            raise not_found(f"No addon: {name} found in cluster: {cluster}", clusterName=cluster, addonName=name)
        ids = [u["id"] for u in ADDONS.updates.values() if u["_key"] == key and u["_addonName"] == name]
        return {"updateIds": ids}

    def _addon_by_arn(self, arn: str) -> dict:
        for store in ADDONS.addons.values():
            for rec in store.values():
                if rec["addonArn"] == arn:
                    return rec
        raise not_found("An error occurred (NotFoundException) when calling the ListTagsForResource operation: Resource was not found")

    def list_tags(self, req: Request, account: str, region: str, arn: str) -> dict:
        return {"tags": self._addon_by_arn(arn)["tags"]}

    def tag_resource(self, req: Request, account: str, region: str, arn: str) -> dict:
        self._addon_by_arn(arn)["tags"].update(self._body(req).get("tags") or {})
        return {}

    def untag_resource(self, req: Request, account: str, region: str, arn: str) -> dict:
        rec = self._addon_by_arn(arn)
        for k in req.args.getlist("tagKeys"):
            rec["tags"].pop(k, None)
        return {}


# --------------------------------------------------------------------------------------
# Kubernetes objects the add-ons install (pushed to the kube emulator)
# --------------------------------------------------------------------------------------

CRD_DIR_CANDIDATES = [
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "chart", "hyperpod-inference-operator", "templates", "crds"),
]


def _deployment(name: str, ns: str, labels: dict, sa: str | None = None, image: str = "public.ecr.aws/emulated/image:latest") -> dict:
    spec_tpl: dict = {"containers": [{"name": "manager", "image": image}]}
    if sa:
        spec_tpl["serviceAccountName"] = sa
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": spec_tpl},
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "readyReplicas": 1,
            "availableReplicas": 1,
            "updatedReplicas": 1,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    }


def _sa(name: str, ns: str, role: str | None = None, labels: dict | None = None) -> dict:
    md: dict = {"name": name, "namespace": ns}
    if role:
        md["annotations"] = {"eks.amazonaws.com/role-arn": role}
    if labels:
        md["labels"] = labels
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": md}


def _ns(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "status": {"phase": "Active"}}


def _csidriver(name: str) -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"name": name},
        "spec": {"attachRequired": False, "podInfoOnMount": False},
    }


def _crd(group: str, plural: str, kind: str, version: str = "v1") -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                    "subresources": {"status": {}},
                }
            ],
        },
        "status": {"conditions": [{"type": "Established", "status": "True"}]},
    }


def _apiservice(name: str, group: str, svc: str, ns: str, labels: dict) -> dict:
    return {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"group": group, "version": name.split(".", 1)[0], "service": {"name": svc, "namespace": ns, "port": 443},
                 "groupPriorityMinimum": 100, "versionPriority": 100, "insecureSkipTLSVerify": True},
        "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Passed"}]},
    }


def _cluster_role(name: str, labels: dict) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": dict(labels)}, "rules": []}


def _inference_crds() -> list[dict]:
    """The operator's three CRDs, from the local chart (namePrefix resolved)."""
    out = []
    try:
        import yaml
    except ImportError:
        return out
    for d in CRD_DIR_CANDIDATES:
        if not os.path.isdir(d):
            continue
        for fn in sorted(os.listdir(d)):
            if not fn.endswith(".yaml"):
                continue
            with open(os.path.join(d, fn)) as f:
                text = f.read()
            text = re.sub(r"\{\{-?\s*\.Values\.namePrefix\s*-?\}\}", "hyperpod-inference-operator", text)
            text = re.sub(r"\{\{-?\s*\.Values\.shortPrefix\s*-?\}\}", "hyperpod-inference", text)
            text = re.sub(r"\{\{-?.*?-?\}\}", "", text)
            for doc in yaml.safe_load_all(text):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    doc.setdefault("status", {"conditions": [{"type": "Established", "status": "True"}]})
                    out.append(doc)
        break
    return out


def addon_objects(rec: dict) -> list[dict]:
    name = rec["addonName"]
    role = rec.get("serviceAccountRoleArn")
    cfg = _parse_config_values(rec.get("configurationValues") or "") or {}
    if not isinstance(cfg, dict):
        cfg = {}
    managed = {"app.kubernetes.io/managed-by": "EKS"}
    if name == "aws-mountpoint-s3-csi-driver":
        labels = {"app": "s3-csi-controller", **managed}
        return [
            _csidriver("s3.csi.aws.com"),
            _sa("s3-csi-driver-sa", "kube-system", role, {"app.kubernetes.io/name": "aws-mountpoint-s3-csi-driver", **managed}),
            _deployment("s3-csi-controller", "kube-system", labels, "s3-csi-driver-sa"),
        ]
    if name == "aws-fsx-csi-driver":
        labels = {"app": "fsx-csi-controller", **managed}
        return [
            _csidriver("fsx.csi.aws.com"),
            _sa("fsx-csi-controller-sa", "kube-system", role),
            _deployment("fsx-csi-controller", "kube-system", labels, "fsx-csi-controller-sa"),
        ]
    if name == "metrics-server":
        labels = {"app.kubernetes.io/name": "metrics-server", **managed}
        return [
            _sa("metrics-server", "kube-system"),
            _deployment("metrics-server", "kube-system", labels, "metrics-server"),
            # The cluster-wide objects a second metrics-server (the operator chart's) collides with.
            _apiservice("v1beta1.metrics.k8s.io", "metrics.k8s.io", "metrics-server", "kube-system", managed),
            _cluster_role("system:metrics-aggregated-reader", managed),
            _cluster_role("system:metrics-server", managed),
        ]
    if name == "cert-manager":
        objs: list[dict] = [_ns("cert-manager")]
        for comp, component in (("cert-manager", "controller"), ("cert-manager-cainjector", "cainjector"), ("cert-manager-webhook", "webhook")):
            labels = {"app.kubernetes.io/name": comp.replace("cert-manager-", "") if comp != "cert-manager" else "cert-manager", "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": component, **managed}
            objs.append(_sa(comp, "cert-manager"))
            objs.append(_deployment(comp, "cert-manager", labels, comp))
        for group, plural, kind in (
            ("cert-manager.io", "certificates", "Certificate"),
            ("cert-manager.io", "certificaterequests", "CertificateRequest"),
            ("cert-manager.io", "issuers", "Issuer"),
            ("cert-manager.io", "clusterissuers", "ClusterIssuer"),
            ("acme.cert-manager.io", "orders", "Order"),
            ("acme.cert-manager.io", "challenges", "Challenge"),
        ):
            crd = _crd(group, plural, kind)
            crd["metadata"]["labels"] = dict(managed)
            if kind == "ClusterIssuer":
                crd["spec"]["scope"] = "Cluster"
            objs.append(crd)
        return objs
    if name == HYPERPOD_INFERENCE:
        ns = "hyperpod-inference-system"
        objs = [_ns(ns)]
        objs.append(_sa("hyperpod-inference-controller-manager", ns, cfg.get("executionRoleArn")))
        objs.append(
            _deployment(
                "hyperpod-inference-controller-manager",
                ns,
                {"control-plane": "hyperpod-inference-controller-manager", "app.kubernetes.io/name": "hyperpod-inference-operator", **managed},
                "hyperpod-inference-controller-manager",
            )
        )
        keda = cfg.get("keda") if isinstance(cfg.get("keda"), dict) else {}
        if keda.get("enabled", True):
            keda_role = (((keda.get("auth") or {}).get("aws") or {}).get("irsa") or {}).get("roleArn")
            objs.append(_sa("keda-operator", ns, keda_role))
            objs.append(_deployment("keda-operator", ns, {"app": "keda-operator", **managed}, "keda-operator"))
            # The KEDA the add-on bundles brings its CRDs (a Helm install's are taken over with
            # OVERWRITE, and go with the add-on).
            for group, plural, kind, cluster_scoped in (
                ("keda.sh", "scaledobjects", "ScaledObject", False),
                ("keda.sh", "scaledjobs", "ScaledJob", False),
                ("keda.sh", "triggerauthentications", "TriggerAuthentication", False),
                ("keda.sh", "clustertriggerauthentications", "ClusterTriggerAuthentication", True),
                ("eventing.keda.sh", "cloudeventsources", "CloudEventSource", False),
                ("eventing.keda.sh", "clustercloudeventsources", "ClusterCloudEventSource", True),
            ):
                crd = _crd(group, plural, kind, "v1alpha1")
                crd["metadata"]["labels"] = dict(managed)
                if cluster_scoped:
                    crd["spec"]["scope"] = "Cluster"
                objs.append(crd)
        alb = cfg.get("alb") if isinstance(cfg.get("alb"), dict) else {}
        if alb.get("enabled", True):
            sa_cfg = alb.get("serviceAccount") or {}
            objs.append(_sa("aws-load-balancer-controller", ns, sa_cfg.get("roleArn")))
            objs.append(
                _deployment("hyperpod-inference-alb", ns, {"app.kubernetes.io/name": "aws-load-balancer-controller", **managed}, "aws-load-balancer-controller")
            )
        objs.extend(_inference_crds())
        return objs
    return []


def _kube_ssl_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if KUBE_CA_DATA:
        ctx.load_verify_locations(cadata=base64.b64decode(KUBE_CA_DATA).decode())
    return ctx


def _kube_request(method: str, path: str, body: object | None = None) -> None:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(KUBE_URL + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Bearer aws-emulator")
    try:
        with urllib.request.urlopen(req, context=_kube_ssl_context(), timeout=10) as r:
            r.read()
    except urllib.error.HTTPError as e:
        if e.code != 404:
            log(f"kube {method} {path}: HTTP {e.code} {e.read()[:300]!r}")
    except Exception as e:
        log(f"kube {method} {path}: {e!r}")


def _kube_objects(cluster: str) -> list[dict] | None:
    """Every object of the emulated cluster (None when the kube emulator cannot be read)."""
    if not KUBE_URL:
        return None
    req = urllib.request.Request(KUBE_URL + f"/clusters/{cluster}/_emulator/objects", method="GET")
    req.add_header("Authorization", "Bearer aws-emulator")
    try:
        with urllib.request.urlopen(req, context=_kube_ssl_context(), timeout=10) as r:
            return json.loads(r.read()).get("items") or []
    except Exception as e:
        log(f"kube GET objects of {cluster}: {e!r}")
        return None


def _group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def addon_conflicts(cluster: str, rec: dict) -> list[str]:
    """What EKS's server-side apply of the add-on would conflict on: objects the add-on installs
    that already exist with fields another manager owns (Helm's ownership metadata, or a
    `app.kubernetes.io/managed-by` other than EKS). EKS reports each as
    `<Kind>.<group> <name> - <field>`; without `--resolve-conflicts OVERWRITE` create-addon fails."""
    existing = _kube_objects(cluster)
    if not existing:
        return []
    index = {}
    for o in existing:
        md = o.get("metadata") or {}
        index[(o.get("kind"), md.get("namespace") or "", md.get("name"))] = o
    out = []
    for obj in addon_objects(rec):
        md = obj["metadata"]
        have = index.get((obj["kind"], md.get("namespace") or "", md["name"]))
        if have is None:
            continue
        hmd = have.get("metadata") or {}
        manager = (hmd.get("labels") or {}).get("app.kubernetes.io/managed-by")
        group = _group_of(obj["apiVersion"])
        what = f"{obj['kind']}.{group}" if group else obj["kind"]
        if (hmd.get("annotations") or {}).get("meta.helm.sh/release-name"):
            out.append(f"{what} {md['name']} - .metadata.annotations.meta.helm.sh/release-name")
        elif manager and manager != "EKS":
            out.append(f"{what} {md['name']} - .metadata.labels.app.kubernetes.io/managed-by")
    return out


def push_addon_objects(cluster: str, rec: dict) -> None:
    if not KUBE_URL:
        return
    objs = addon_objects(rec)
    if objs:
        _kube_request("POST", f"/clusters/{cluster}/_emulator/objects", {"items": objs})


PLURALS = {
    "Deployment": "deployments",
    "ServiceAccount": "serviceaccounts",
    "CSIDriver": "csidrivers",
    "CustomResourceDefinition": "customresourcedefinitions",
    "APIService": "apiservices",
    "ClusterRole": "clusterroles",
}


def delete_addon_objects(cluster: str, rec: dict) -> None:
    """Remove what the add-on installed (namespaces are left in place, but the ones an add-on
    brings for itself alone: cert-manager's, the inference operator's)."""
    if not KUBE_URL:
        return
    for obj in addon_objects(rec):
        plural = PLURALS.get(obj["kind"])
        if obj["kind"] == "Namespace" and rec["addonName"] in ("cert-manager", HYPERPOD_INFERENCE):
            plural = "namespaces"  # its own namespace, which nothing else uses
        if plural is None:
            continue
        ns = obj["metadata"].get("namespace") or "_"
        _kube_request(
            "DELETE",
            f"/clusters/{cluster}/_emulator/objects/{obj['apiVersion']}/{ns}/{plural}/{obj['metadata']['name']}",
        )


# --------------------------------------------------------------------------------------
# WSGI front: hooks, add-on routes, then moto
# --------------------------------------------------------------------------------------

SIGV4_RX = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


MOTO_LOCK = threading.Lock()
LATENCY = {"seconds": 0.0}
# Access key ID -> IAM actions refused to it with AccessDenied, as IAM refuses a caller whose
# policies lack them (PUT /_hp/deny). Keyed by access key so that sandboxes sharing the emulator
# are not affected.
DENIED: dict[str, set[str]] = {}


def _denied(environ: dict, access_key: str, service: str) -> Response | None:
    """IAM's answer to a caller refused the request's action, or None."""
    actions = DENIED.get(access_key)
    if not actions or service != "iam":
        return None
    import io
    from urllib.parse import parse_qs

    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size) if size else b""
    environ["wsgi.input"] = io.BytesIO(body)
    action = (parse_qs(body.decode()).get("Action") or [""])[0]
    if f"iam:{action}" not in actions:
        return None
    msg = (f"User: arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/limited is not authorized to perform: "
           f"iam:{action} on resource: *")
    xml = ('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
           f'<Code>AccessDenied</Code><Message>{msg}</Message></Error>'
           f'<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>')
    return Response(xml, status=403, content_type="text/xml")


class Front:
    def __init__(self, moto_app: DomainDispatcherApplication) -> None:
        self.moto_app = moto_app
        self.eks = EksAddonApi()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_hp/"):
            return self.hook(Request(environ))(environ, start_response)
        if path.startswith("/moto-api/reset"):
            ADDONS.reset()
            jumpstart_hub.reset()
        elif LATENCY["seconds"] > 0:
            time.sleep(LATENCY["seconds"])
        m = SIGV4_RX.search(environ.get("HTTP_AUTHORIZATION", ""))
        if m and DENIED:
            refused = _denied(environ, m.group(1), m.group(3))
            if refused is not None:
                return refused(environ, start_response)
        if m and m.group(3) == "eks":
            from moto.iam.models import get_account_id_from

            try:
                account = get_account_id_from(m.group(1))
            except Exception:
                account = DEFAULT_ACCOUNT_ID
            resp = self.eks.handle(Request(environ), account, m.group(2))
            if resp is not None:
                return resp(environ, start_response)
        if m and environ.get("HTTP_X_AMZ_TARGET") == "SageMaker.DescribeHubContent":
            return self.hub_content(Request(environ), m.group(2))(environ, start_response)
        # moto's backends are not safe under concurrent writes: parallel IAM creates have come
        # back with an empty body ("Unable to parse response ... invalid XML"). One request at a
        # time; the body is materialised inside the lock.
        with MOTO_LOCK:
            return list(self.moto_app(environ, start_response))

    @staticmethod
    def hub_content(req: Request, region: str) -> Response:
        try:
            params = json.loads(req.get_data(as_text=True) or "{}")
            body, status = jumpstart_hub.describe_hub_content(params, DEFAULT_ACCOUNT_ID, region), 200
        except jumpstart_hub.HubError as e:
            body, status = e.body(), 400
        except ValueError:
            body, status = {"__type": "SerializationException", "message": "invalid JSON"}, 400
        return Response(json.dumps(body), status=status, content_type="application/x-amz-json-1.1",
                        headers={"x-amzn-RequestId": str(uuid.uuid4())})

    def hook(self, req: Request) -> Response:
        def js(obj: object, status: int = 200) -> Response:
            return Response(json.dumps(obj), status=status, content_type="application/json")

        if req.path == "/_hp/health":
            return js({"ok": True})
        if req.path == "/_hp/latency":
            if req.method == "PUT":
                try:
                    secs = float(json.loads(req.get_data(as_text=True) or "{}").get("seconds", 0))
                except (ValueError, TypeError, AttributeError):
                    return js({"error": 'body must be {"seconds": <number>}'}, 400)
                if not 0 <= secs <= 30:
                    return js({"error": "seconds must be between 0 and 30"}, 400)
                LATENCY["seconds"] = secs
            return js(dict(LATENCY))
        if req.path == "/_hp/deny" and req.method == "PUT":
            try:
                spec = json.loads(req.get_data(as_text=True) or "{}")
                DENIED[str(spec["accessKey"])] = set(spec["actions"])
            except (ValueError, KeyError, TypeError) as e:
                return js({"error": f'body must be {{"accessKey": "...", "actions": ["iam:..."]}}: {e!r}'}, 400)
            return js({k: sorted(v) for k, v in DENIED.items()})
        if req.path == "/_hp/seed" and req.method == "POST":
            try:
                spec = json.loads(req.get_data(as_text=True) or "{}")
                return js(seed(spec))
            except Exception as e:
                return js({"error": f"seed failed: {e!r}"}, 500)
        m = re.match(r"^/_hp/hubs/([^/]+)/([^/]+)$", req.path)
        if m and req.method == "PUT":
            try:
                types = json.loads(req.get_data(as_text=True) or "{}")["supportedInferenceInstanceTypes"]
                return js(jumpstart_hub.hub_put(req.args.get("region", "us-west-2"), m.group(1), m.group(2), types))
            except (ValueError, KeyError, TypeError) as e:
                return js({"error": f'body must be {{"supportedInferenceInstanceTypes": [...]}}: {e!r}'}, 400)
        m = re.match(r"^/_hp/clusters/([^/]+)/addon-config$", req.path)
        if m:
            account = req.args.get("account", DEFAULT_ACCOUNT_ID)
            region = req.args.get("region")
            cluster = m.group(1)
            keys = [k for k in _cluster_keys(cluster) if (region is None or k[1] == region) and k[0] == account]
            if not keys:
                keys = [(account, region or "us-west-2", cluster)]
            with ADDONS.lock:
                if req.method == "PUT":
                    try:
                        patch = json.loads(req.get_data(as_text=True) or "{}")
                    except ValueError as e:
                        return js({"error": f"invalid JSON: {e}"}, 400)
                    unknown = set(patch) - set(DEFAULT_ADDON_CONFIG)
                    if unknown:
                        return js({"error": f"unknown keys: {sorted(unknown)}"}, 400)
                    for k in keys:
                        ADDONS.configs.setdefault(k, {}).update(patch)
                return js(ADDONS.config(keys[0]))
        return js({"error": f"no such hook: {req.method} {req.path}"}, 404)


SELF_URL = ""
_CLIENTS: dict = {}
_CLIENTS_LOCK = threading.Lock()


def _client(service: str, region: str):  # type: ignore[no-untyped-def]
    with _CLIENTS_LOCK:
        c = _CLIENTS.get((service, region))
        if c is None:
            import boto3

            c = boto3.session.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
            ).client(service, endpoint_url=SELF_URL)
            _CLIENTS[(service, region)] = c
        return c


def seed(spec: dict) -> dict:
    """Create, through the emulator's own API (boto3 -> this server), what a sandbox needs:
    an EKS cluster, a HyperPod cluster orchestrated by it, and an S3 bucket.
    spec: {"region", "eksCluster", "hyperpodCluster", "bucket", "account"?, "instanceType"?, "instanceCount"?}
    """
    region = spec.get("region", "us-west-2")
    account = spec.get("account", DEFAULT_ACCOUNT_ID)
    profile = spec.get("profile", "bare")
    if profile not in profiles.PROFILES:
        raise ValueError(f"unknown profile {profile!r} (one of {', '.join(profiles.PROFILES)})")
    out: dict = {}
    if spec.get("eksCluster"):
        eks = _client("eks", region)
        c = eks.create_cluster(
            name=spec["eksCluster"],
            version=spec.get("kubernetesVersion", DEFAULT_CLUSTER_VERSION),
            roleArn=f"arn:aws:iam::{account}:role/{spec['eksCluster']}-cluster-role",
            resourcesVpcConfig={"endpointPublicAccess": True},
        )["cluster"]
        out["eksClusterArn"] = c["arn"]
        out["vpcId"] = c["resourcesVpcConfig"]["vpcId"]
        out["oidcIssuer"] = c["identity"]["oidc"]["issuer"]
    if spec.get("hyperpodCluster"):
        sm = _client("sagemaker", region)
        name = spec["hyperpodCluster"]
        args: dict = {
            "ClusterName": name,
            "InstanceGroups": [
                {
                    "InstanceGroupName": g["name"],
                    "InstanceType": g["type"],
                    "InstanceCount": int(g.get("count", 1)),
                    "LifeCycleConfig": {
                        "SourceS3Uri": f"s3://sagemaker-{name}-lifecycle/scripts/",
                        "OnCreate": "on_create.sh",
                    },
                    "ExecutionRole": f"arn:aws:iam::{account}:role/{name}-node-role",
                    "ThreadsPerCore": 1,
                }
                for g in profiles.instance_groups(profile, spec)
            ],
            "NodeRecovery": "Automatic",
        }
        if out.get("eksClusterArn"):
            args["Orchestrator"] = {"Eks": {"ClusterArn": out["eksClusterArn"]}}
        out["hyperpodClusterArn"] = sm.create_cluster(**args)["ClusterArn"]
    if spec.get("bucket"):
        s3 = _client("s3", region)
        create: dict = {"Bucket": spec["bucket"]}
        if region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**create)
        out["bucket"] = spec["bucket"]
    profiles.apply(profile, spec, out, _client, _push_objects, account)
    return out


def _push_objects(cluster: str, objs: list[dict]) -> None:
    """Stores objects in the emulated cluster (the seed's: it fails loudly, unlike add-on pushes)."""
    if not KUBE_URL:
        raise RuntimeError("HP_KUBE_URL is not set: cannot seed Kubernetes objects")
    data = json.dumps({"items": objs}).encode()
    req = urllib.request.Request(f"{KUBE_URL}/clusters/{cluster}/_emulator/objects", data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, context=_kube_ssl_context(), timeout=30) as r:
        r.read()


def _cluster_keys(cluster: str) -> list[tuple[str, str, str]]:
    from moto.eks.models import eks_backends

    keys = []
    for account, regions in eks_backends.items():
        for region, backend in regions.items():
            if cluster in backend.clusters:
                keys.append((account, region, cluster))
    return keys


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------


def write_state(path: str, state: dict) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".aws-state-")
    with os.fdopen(fd, "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--state-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--exit-on-stdin-eof", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="do not log requests")
    args = ap.parse_args()

    _patch_eks_cluster()
    _patch_iam()
    _patch_sagemaker_cluster()

    app = Front(DomainDispatcherApplication(create_backend_app))

    class Handler(MotoRequestHandler):
        def log_request(self, code="-", size="-"):  # type: ignore[no-untyped-def]
            if not args.quiet:
                super().log_request(code, size)

    server = make_server(args.host, args.port, app, threaded=True, request_handler=Handler)
    port = server.server_address[1]
    os.environ["MOTO_PORT"] = str(port)

    if args.exit_on_stdin_eof:

        def watch_stdin() -> None:
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            except Exception:
                pass
            os._exit(0)

        threading.Thread(target=watch_stdin, daemon=True).start()

    global SELF_URL
    SELF_URL = f"http://{args.host}:{port}"
    # Warm up before announcing readiness: moto's EC2/IAM backends and boto3 (used by the seed
    # hook) take a few seconds to load; doing it now keeps the first requests fast and race-free.
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from moto.ec2.models import ec2_backends
        from moto.iam.models import iam_backends

        ec2_backends[DEFAULT_ACCOUNT_ID]["us-west-2"]
        iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for svc in ("eks", "sagemaker", "s3"):
            _client(svc, "us-west-2")
    except Exception as e:
        log(f"warm-up: {e!r}")
    write_state(args.state_file, {"url": SELF_URL, "port": port, "pid": os.getpid()})
    log(f"listening on {SELF_URL} (kube: {KUBE_URL or 'none'})")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
