"""What EKS checks when the add-on amazon-sagemaker-hyperpod-inference is created or updated,
beyond its configuration schema (aws_emulator.py validates that on the request):

  * the dependency add-ons exist, are not failed, and are at or above the versions AWS names
    (reference: the add-on method in detail, `migration/helm_to_addon.sh`)  -> CREATE_FAILED;
  * the execution role's name starts with `SageMakerHyperPodInference`    -> CREATE_FAILED;
  * every role of the configuration exists and its trust admits the ServiceAccount the add-on
    runs it as (`hyperpod-inference-system:<sa>`) through the cluster's OIDC issuer
                                                                            -> DEGRADED
    (the add-on is installed, its pods cannot get credentials).

Each problem is a health issue as EKS reports it: {"code", "message", "resourceIds"}.
"""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse

NAME = "amazon-sagemaker-hyperpod-inference"
ROLE_PREFIX = "SageMakerHyperPodInference"
NAMESPACE = "hyperpod-inference-system"

# Dependency add-on -> the lowest version the inference add-on accepts.
DEPENDENCIES = {
    "aws-mountpoint-s3-csi-driver": "v1.14.1-eksbuild.1",
    "aws-fsx-csi-driver": "v1.6.0-eksbuild.1",
    "metrics-server": "v0.7.2-eksbuild.4",
    "cert-manager": "v1.18.2-eksbuild.2",
}

# Configuration path of a role ARN -> the ServiceAccount that assumes it (None: per-model
# ServiceAccounts, only its existence is checked).
CONFIG_ROLES = [
    (("executionRoleArn",), "hyperpod-inference-controller-manager"),
    (("alb", "serviceAccount", "roleArn"), "aws-load-balancer-controller"),
    (("keda", "auth", "aws", "irsa", "roleArn"), "keda-operator"),
    (("jumpstartGatedModelDownloadRoleArn",), None),
]


def version_key(v: str) -> tuple[int, ...]:
    """v1.14.1-eksbuild.1 -> (1, 14, 1, 1)."""
    return tuple(int(n) for n in re.findall(r"\d+", v))


def _issue(code: str, message: str, resource_ids: list[str] | None = None) -> dict:
    return {"code": code, "message": message, "resourceIds": resource_ids or []}


def dependency_issues(store: dict) -> list[dict]:
    missing, old = [], []
    for dep, minimum in DEPENDENCIES.items():
        rec = store.get(dep)
        if rec is None or rec["status"] in ("CREATE_FAILED", "DELETING", "DELETE_FAILED"):
            missing.append(dep)
        elif version_key(rec["addonVersion"]) < version_key(minimum):
            old.append(f"{dep} {rec['addonVersion']} (needs {minimum} or later)")
    issues = []
    if missing:
        issues.append(_issue("ConfigurationConflict", "Missing required add-on dependencies: " + ", ".join(missing)))
    if old:
        issues.append(_issue("ConfigurationConflict", "Add-on dependencies below the required version: " + "; ".join(old)))
    return issues


def _at(cfg: dict, path: tuple[str, ...]) -> str | None:
    v: object = cfg
    for k in path:
        if not isinstance(v, dict):
            return None
        v = v.get(k)
    return v if isinstance(v, str) and v else None


def execution_role_issues(cfg: dict) -> list[dict]:
    role = _at(cfg, ("executionRoleArn",))
    if not role:
        return []
    name = role.rsplit("/", 1)[-1]
    if name.startswith(ROLE_PREFIX):
        return []
    return [_issue("InsufficientPermissions", f"The execution role name must start with {ROLE_PREFIX}: {name}", [role])]


def _trust_admits(doc: dict, issuer_host: str, subject: str) -> bool:
    stmts = doc.get("Statement") or []
    if isinstance(stmts, dict):
        stmts = [stmts]
    for st in stmts:
        if st.get("Effect") != "Allow" or "sts:AssumeRoleWithWebIdentity" not in json.dumps(st.get("Action")):
            continue
        fed = (st.get("Principal") or {}).get("Federated", "")
        if issuer_host and not str(fed).endswith("oidc-provider/" + issuer_host):
            continue
        cond = st.get("Condition") or {}
        for op in ("StringEquals", "StringLike"):
            want = (cond.get(op) or {}).get(f"{issuer_host}:sub")
            for w in want if isinstance(want, list) else [want]:
                if w is None:
                    continue
                if w == subject or (op == "StringLike" and fnmatch.fnmatchcase(subject, w)):
                    return True
    return False


def role_issues(cfg: dict, iam_backend, issuer: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Roles of the configuration that the add-on's pods cannot assume."""
    host = issuer.split("://", 1)[-1]
    issues = []
    for path, sa in CONFIG_ROLES:
        arn = _at(cfg, path)
        if not arn:
            continue
        name = arn.rsplit("/", 1)[-1]
        try:
            role = iam_backend.get_role(name)
        except Exception:
            issues.append(_issue("AccessDenied", f"{'.'.join(path)}: role {arn} does not exist", [arn]))
            continue
        if sa is None:
            continue
        subject = f"system:serviceaccount:{NAMESPACE}:{sa}"
        try:
            doc = json.loads(urllib.parse.unquote(role.assume_role_policy_document))
        except ValueError:
            doc = {}
        if not _trust_admits(doc, host, subject):
            issues.append(
                _issue(
                    "AccessDenied",
                    f"{'.'.join(path)}: role {arn} cannot be assumed by {subject}: "
                    "its trust policy does not allow this ServiceAccount through the cluster's OIDC provider",
                    [arn],
                )
            )
    return issues
