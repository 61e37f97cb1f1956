#!/usr/bin/env python3
"""Stateful Kubernetes API server emulator for kubectl-hyperpod's end-to-end tests.

The REAL kubectl (1.37) and helm (3.19) talk to it over HTTPS exactly as they would to an EKS
API server: discovery, OpenAPI v3, CRUD with all four patch types, watch and watch-list,
protobuf request bodies, /status, /scale, pods/log, CRD schema defaulting and validation, plus
small stand-ins for the controllers that are not there (Deployments become ready, the
HyperPod inference operator moves model resources through their states).

Command line
------------
    python kube_emulator.py --state-file PATH [--host 127.0.0.1] [--port 0] [--exit-on-stdin-eof] [--verbose]

When ready it atomically writes PATH (JSON):
    {"url": "https://127.0.0.1:PORT", "port": PORT, "ca_file": "PATH.ca.crt", "ca_data": "<base64 CA PEM>", "pid": N}

Clusters
--------
Every path prefix /clusters/<id> (id: [a-zA-Z0-9_.-]+) is an independent cluster, created on
first use; paths without it go to cluster "default". Use the prefixed URL as the kubeconfig
`server:` (e.g. https://127.0.0.1:PORT/clusters/my-eks).
Tip for tests: give kubectl a fresh cache directory (KUBECACHEDIR=...) per test after a reset,
otherwise its on-disk discovery cache may still list CRDs that the reset removed.

Test hooks (plain JSON, not part of the Kubernetes API; prefix with /clusters/<id> for a
cluster other than "default"; E=https://127.0.0.1:PORT/clusters/c1, CA=--cacert PATH.ca.crt)
--------------------------------------------------------------------------------------------
  POST   /_emulator/reset            wipe this cluster back to its initial state
         curl $CA -X POST $E/_emulator/reset
  POST   /_emulator/reset-all        forget every cluster (no prefix needed)
         curl $CA -X POST https://127.0.0.1:PORT/_emulator/reset-all
  GET    /_emulator/config           per-cluster settings (+ read-only lastAuthScheme, lastTokenKind)
  PUT    /_emulator/config           merge settings: autoReadyDeployments (bool, default true),
                                     modelOperator ("off"|"complete"|"fail"), modelDelaySeconds (1.0),
                                     modelFailReason, modelFailMessage, serverVersion
         curl $CA -X PUT $E/_emulator/config -d '{"modelOperator":"complete","modelDelaySeconds":0.2}'
  POST   /_emulator/objects          store one object or {"items":[...]} as-is INCLUDING .status
                                     (create or replace; missing namespaces are created; no controllers run)
         curl $CA -X POST $E/_emulator/objects -d '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},
              "status":{"allocatable":{"nvidia.com/gpu":"4"}}}'
  GET    /_emulator/objects          every stored object (debugging)
  DELETE /_emulator/objects/<apiVersion>/<namespace or _>/<plural>/<name>
                                     force-remove, ignoring finalizers (emits DELETED)
         curl $CA -X DELETE $E/_emulator/objects/inference.sagemaker.aws.amazon.com/v1/default/jumpstartmodels/m1
         curl $CA -X DELETE $E/_emulator/objects/v1/_/nodes/n1
  PUT    /_emulator/logs/<namespace>/<pod>[/<container>][?previous=true]
                                     text body served by pods/log (without container: any container)
         curl $CA -X PUT $E/_emulator/logs/default/my-pod --data-binary @log.txt
  GET    /_emulator/requests         API requests received: method, path, query, contentType, auth scheme
  DELETE /_emulator/requests         clear that list
         curl $CA $E/_emulator/requests
  GET    /_emulator/healthz          "ok"

Every API write, hook-made or not, is visible to watches. Tokens are accepted, never checked and
never logged (only the scheme, and whether a bearer token looks like an EKS `k8s-aws-v1.` token).
"""

import argparse
import base64
import bisect
import datetime
import hashlib
import http.server
import json
import os
import random
import re
import select
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid

import yaml

try:
    import jsonpatch
except ImportError:  # json-patch support degrades to a 415 without it
    jsonpatch = None

VERBOSE = False


def log(msg):
    if VERBOSE:
        sys.stderr.write("[kube-emu] %s\n" % msg)
        sys.stderr.flush()


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


def deep(obj):
    # json round-trip is faster than copy.deepcopy for plain JSON data
    return json.loads(json.dumps(obj))


def get_path(obj, dotted):
    cur = obj
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return None
    return cur


RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


def rand_suffix(n=5):
    return "".join(random.choice(RAND_ALPHABET) for _ in range(n))


def stable_hash(obj, n=10):
    digest = hashlib.sha256(dumps(obj).encode()).digest()
    return "".join(RAND_ALPHABET[b % len(RAND_ALPHABET)] for b in digest[:n])


# ----------------------------------------------------------------------------------------------
# Errors as metav1.Status
# ----------------------------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            st["details"] = self.details
        return st


def qualified_resource(rt):
    return rt.plural if not rt.group else "%s.%s" % (rt.plural, rt.group)


def qualified_kind(rt):
    return rt.kind if not rt.group else "%s.%s" % (rt.kind, rt.group)


def not_found(rt, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified_resource(rt), name),
                    {"name": name, "group": rt.group, "kind": rt.plural})


def ns_not_found(ns):
    return ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                    {"name": ns, "kind": "namespaces"})


def already_exists(rt, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified_resource(rt), name),
                    {"name": name, "group": rt.group, "kind": rt.plural})


def conflict(rt, name):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    "please apply your changes to the latest version and try again"
                    % (qualified_resource(rt), name),
                    {"name": name, "group": rt.group, "kind": rt.plural})


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def resource_not_found():
    return ApiError(404, "NotFound", "the server could not find the requested resource",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})


def go_quote(v):
    """Formats a bad value like field.Error does (%q for strings, %v for numbers)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, separators=(",", ":"))


class FieldError:
    """k8s.io/apimachinery/pkg/util/validation/field.Error (type, field, value, detail)."""
    TYPES = {"required": ("FieldValueRequired", "Required value"),
             "invalid": ("FieldValueInvalid", "Invalid value"),
             "type": ("FieldValueTypeInvalid", "Invalid value"),
             "notsupported": ("FieldValueNotSupported", "Unsupported value"),
             "toolong": ("FieldValueTooLong", "Too long"),
             "toomany": ("FieldValueTooMany", "Too many"),
             "forbidden": ("FieldValueForbidden", "Forbidden")}

    def __init__(self, kind, field, value=None, detail=""):
        self.kind, self.field, self.value, self.detail = kind, field, value, detail

    def body(self):
        label = self.TYPES[self.kind][1]
        if self.kind in ("required", "forbidden", "toolong"):
            s = label
        elif self.kind == "toomany":
            s = "%s: %s" % (label, go_quote(self.value))
        else:
            s = "%s: %s" % (label, go_quote(self.value))
        if self.detail:
            s += ": " + self.detail
        return s

    def __str__(self):
        return "%s: %s" % (self.field, self.body())


def invalid(rt, name, errors):
    msgs = []
    for e in errors:
        if str(e) not in msgs:
            msgs.append(str(e))
    agg = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (qualified_kind(rt), name, agg),
                    {"name": name, "group": rt.group, "kind": rt.kind,
                     "causes": [{"reason": FieldError.TYPES[e.kind][0], "message": e.body(),
                                 "field": e.field} for e in errors]})


# ----------------------------------------------------------------------------------------------
# Label and field selectors
# ----------------------------------------------------------------------------------------------

def _split_top(s):
    """Splits on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


_SET_RE = re.compile(r"^([^\s!=]+)\s+(in|notin)\s*\((.*)\)$")


def parse_label_selector(s):
    """Returns a list of (key, op, values); raises ApiError on syntax errors."""
    reqs = []
    if not s:
        return reqs
    for part in _split_top(s):
        m = _SET_RE.match(part)
        if m:
            vals = [v.strip() for v in m.group(3).split(",") if v.strip()]
            reqs.append((m.group(1), m.group(2), vals))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!exists", []))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), "!=", [v.strip()]))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif re.match(r"^[A-Za-z0-9_./-]+$", part):
            reqs.append((part, "exists", []))
        else:
            raise bad_request('unable to parse requirement: found \'%s\', expected: identifier' % part)
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        val = labels.get(key)
        if op == "=" and not (has and val == vals[0]):
            return False
        if op == "!=" and has and val == vals[0]:
            return False
        if op == "in" and not (has and val in vals):
            return False
        if op == "notin" and has and val in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


def selector_from_label_selector(sel):
    """metav1.LabelSelector -> selector string (for Deployments' spec.selector)."""
    if not sel:
        return ""
    parts = ["%s=%s" % (k, v) for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for expr in sel.get("matchExpressions") or []:
        op = expr.get("operator")
        k = expr.get("key")
        vals = expr.get("values") or []
        if op == "In":
            parts.append("%s in (%s)" % (k, ",".join(vals)))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (k, ",".join(vals)))
        elif op == "Exists":
            parts.append(k)
        elif op == "DoesNotExist":
            parts.append("!" + k)
    return ",".join(parts)


def parse_field_selector(s):
    reqs = []
    if not s:
        return reqs
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), "!=", v.strip()))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append((k.strip(), "=", v.strip()))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append((k.strip(), "=", v.strip()))
        else:
            raise bad_request('invalid selector: \'%s\'; can\'t understand \'%s\'' % (s, part))
    return reqs


# Field-selector names that are not plain JSON paths of the object.
FIELD_ALIASES = {"source": "source.component"}


def field_value(obj, key):
    v = get_path(obj, FIELD_ALIASES.get(key, key))
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def match_fields(reqs, obj):
    for key, op, val in reqs:
        if key == "involvedObject.uid" and not get_path(obj, key):
            continue  # events stored through the hooks often lack the uid; kubectl describe asks for it
        actual = field_value(obj, key)
        if op == "=" and actual != val:
            return False
        if op == "!=" and actual == val:
            return False
    return True


# ----------------------------------------------------------------------------------------------
# Protobuf request bodies (application/vnd.kubernetes.protobuf)
#
# kubectl create namespace|serviceaccount|configmap|secret and helm's release Secrets send
# protobuf and do not retry with JSON on a 415, so the emulator decodes the envelope
#   "k8s\0" + runtime.Unknown{1: TypeMeta{1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding, 4: contentType}
# and the raw object for the kinds below. Field numbers come from the generated.proto files of
# k8s.io/api/core/v1 and k8s.io/apimachinery/pkg/apis/meta/v1. Go's JSON encoding uses omitempty
# for these fields, so empty strings/zeros/empty maps (which gogo-proto always emits) are dropped.
# ----------------------------------------------------------------------------------------------

def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def pb_fields(buf):
    i, out = 0, []
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _varint(buf, i)
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 2:
            ln, i = _varint(buf, i)
            val, i = buf[i:i + ln], i + ln
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unsupported protobuf wire type %d" % wt)
        out.append((num, wt, val))
    return out


def _signed64(v):
    return v - (1 << 64) if v >= (1 << 63) else v


PB_TIME = {1: ("seconds", "int"), 2: ("nanos", "int")}
PB_OWNERREF = {1: ("kind", "str"), 3: ("name", "str"), 4: ("uid", "str"), 5: ("apiVersion", "str"),
               6: ("controller", "optbool"), 7: ("blockOwnerDeletion", "optbool")}
PB_OBJECTMETA = {1: ("name", "str"), 2: ("generateName", "str"), 3: ("namespace", "str"),
                 4: ("selfLink", "str"), 5: ("uid", "str"), 6: ("resourceVersion", "str"),
                 7: ("generation", "int"), 8: ("creationTimestamp", "time"),
                 9: ("deletionTimestamp", "time"), 10: ("deletionGracePeriodSeconds", "optint"),
                 11: ("labels", "map_str"), 12: ("annotations", "map_str"),
                 13: ("ownerReferences", ("rep_msg", PB_OWNERREF)), 14: ("finalizers", "rep_str")}
PB_OBJREF = {1: ("kind", "str"), 2: ("namespace", "str"), 3: ("name", "str"), 4: ("uid", "str"),
             5: ("apiVersion", "str"), 6: ("resourceVersion", "str"), 7: ("fieldPath", "str")}
PB_LOCALREF = {1: ("name", "str")}
PB_LABELSELECTOR = {1: ("matchLabels", "map_str"),
                    2: ("matchExpressions", ("rep_msg", {1: ("key", "str"), 2: ("operator", "str"),
                                                         3: ("values", "rep_str")}))}
PB_KEYREF = {1: ("name", ("msg", {1: ("name", "str")})), 2: ("key", "str"), 3: ("optional", "optbool")}
PB_CONTAINER = {
    1: ("name", "str"), 2: ("image", "str"), 3: ("command", "rep_str"), 4: ("args", "rep_str"),
    5: ("workingDir", "str"),
    6: ("ports", ("rep_msg", {1: ("name", "str"), 2: ("hostPort", "int"), 3: ("containerPort", "int"),
                              4: ("protocol", "str"), 5: ("hostIP", "str")})),
    7: ("env", ("rep_msg", {1: ("name", "str"), 2: ("value", "str"), 3: ("valueFrom", ("msg", {
        1: ("fieldRef", ("msg", {1: ("apiVersion", "str"), 2: ("fieldPath", "str")})),
        3: ("configMapKeyRef", ("msg", PB_KEYREF)), 4: ("secretKeyRef", ("msg", PB_KEYREF))}))})),
    8: ("resources", ("msg", {1: ("limits", "map_qty"), 2: ("requests", "map_qty")})),
    9: ("volumeMounts", ("rep_msg", {1: ("name", "str"), 2: ("readOnly", "bool"), 3: ("mountPath", "str"),
                                     4: ("subPath", "str")})),
    13: ("terminationMessagePath", "str"), 14: ("imagePullPolicy", "str"), 16: ("stdin", "bool"),
    17: ("stdinOnce", "bool"), 18: ("tty", "bool"), 20: ("terminationMessagePolicy", "str")}
PB_PODSPEC = {
    2: ("containers", ("rep_msg", PB_CONTAINER)), 3: ("restartPolicy", "str"),
    4: ("terminationGracePeriodSeconds", "optint"), 5: ("activeDeadlineSeconds", "optint"),
    6: ("dnsPolicy", "str"), 7: ("nodeSelector", "map_str"), 8: ("serviceAccountName", "str"),
    9: ("serviceAccount", "str"), 10: ("nodeName", "str"), 11: ("hostNetwork", "bool"),
    15: ("imagePullSecrets", ("rep_msg", PB_LOCALREF)), 16: ("hostname", "str"), 17: ("subdomain", "str"),
    19: ("schedulerName", "str"), 20: ("initContainers", ("rep_msg", PB_CONTAINER)),
    22: ("tolerations", ("rep_msg", {1: ("key", "str"), 2: ("operator", "str"), 3: ("value", "str"),
                                     4: ("effect", "str"), 5: ("tolerationSeconds", "optint")})),
    24: ("priorityClassName", "str")}
PB_TEMPLATE = {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("spec", ("msg", PB_PODSPEC))}
PB_JOBSPEC = {1: ("parallelism", "optint"), 2: ("completions", "optint"), 3: ("activeDeadlineSeconds", "optint"),
              4: ("selector", ("msg", PB_LABELSELECTOR)), 5: ("manualSelector", "optbool"),
              6: ("template", ("msg", PB_TEMPLATE)), 7: ("backoffLimit", "optint"),
              8: ("ttlSecondsAfterFinished", "optint")}
PB_RULES = ("rep_msg", {1: ("verbs", "rep_str"), 2: ("apiGroups", "rep_str"), 3: ("resources", "rep_str"),
                        4: ("resourceNames", "rep_str"), 5: ("nonResourceURLs", "rep_str")})
PB_BINDING = {1: ("metadata", ("msg", PB_OBJECTMETA)),
              2: ("subjects", ("rep_msg", {1: ("kind", "str"), 2: ("apiGroup", "str"), 3: ("name", "str"),
                                           4: ("namespace", "str")})),
              3: ("roleRef", ("msg", {1: ("apiGroup", "str"), 2: ("kind", "str"), 3: ("name", "str")}))}
PB_KINDS = {
    "Pod": {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("spec", ("msg", PB_PODSPEC))},
    "Deployment": {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("spec", ("msg", {
        1: ("replicas", "optint"), 2: ("selector", ("msg", PB_LABELSELECTOR)),
        3: ("template", ("msg", PB_TEMPLATE)),
        4: ("strategy", ("msg", {1: ("type", "str"), 2: ("rollingUpdate", ("msg", {
            1: ("maxUnavailable", "intorstr"), 2: ("maxSurge", "intorstr")}))})),
        5: ("minReadySeconds", "int"), 6: ("revisionHistoryLimit", "optint"), 7: ("paused", "bool"),
        9: ("progressDeadlineSeconds", "optint")}))},
    "Job": {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("spec", ("msg", PB_JOBSPEC))},
    "CronJob": {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("spec", ("msg", {
        1: ("schedule", "str"), 2: ("startingDeadlineSeconds", "optint"), 3: ("concurrencyPolicy", "str"),
        4: ("suspend", "optbool"),
        5: ("jobTemplate", ("msg", {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("spec", ("msg", PB_JOBSPEC))})),
        6: ("successfulJobsHistoryLimit", "optint"), 7: ("failedJobsHistoryLimit", "optint"),
        8: ("timeZone", "optstr")}))},
    "Service": {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("spec", ("msg", {
        1: ("ports", ("rep_msg", {1: ("name", "str"), 2: ("protocol", "str"), 3: ("port", "int"),
                                  4: ("targetPort", "intorstr"), 5: ("nodePort", "int"),
                                  6: ("appProtocol", "optstr")})),
        2: ("selector", "map_str"), 3: ("clusterIP", "str"), 4: ("type", "str"),
        5: ("externalIPs", "rep_str"), 10: ("externalName", "str")}))},
    "Role": {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("rules", PB_RULES)},
    "ClusterRole": {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("rules", PB_RULES)},
    "RoleBinding": PB_BINDING,
    "ClusterRoleBinding": PB_BINDING,
    "Namespace": {1: ("metadata", ("msg", PB_OBJECTMETA)),
                  2: ("spec", ("msg", {1: ("finalizers", "rep_str")})),
                  3: ("status", ("msg", {1: ("phase", "str")}))},
    "ServiceAccount": {1: ("metadata", ("msg", PB_OBJECTMETA)),
                       2: ("secrets", ("rep_msg", PB_OBJREF)),
                       3: ("automountServiceAccountToken", "optbool"),
                       4: ("imagePullSecrets", ("rep_msg", PB_LOCALREF))},
    "ConfigMap": {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("data", "map_str"),
                  3: ("binaryData", "map_bytes"), 4: ("immutable", "optbool")},
    "Secret": {1: ("metadata", ("msg", PB_OBJECTMETA)), 2: ("data", "map_bytes"),
               3: ("type", "str"), 4: ("stringData", "map_str"), 5: ("immutable", "optbool")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "optint"),
                      2: ("preconditions", ("msg", {1: ("uid", "str"), 2: ("resourceVersion", "str")})),
                      3: ("orphanDependents", "optbool"), 4: ("propagationPolicy", "str"),
                      5: ("dryRun", "rep_str")},
}


def pb_decode(buf, schema):
    out = {}
    for num, wt, val in pb_fields(buf):
        if num not in schema:
            continue
        name, typ = schema[num]
        if typ == "str":
            if val:
                out[name] = val.decode("utf-8")
        elif typ == "int":
            v = _signed64(val)
            if v:
                out[name] = v
        elif typ == "optint":
            out[name] = _signed64(val)
        elif typ == "optbool":
            out[name] = bool(val)
        elif typ == "bool":
            if val:
                out[name] = True
        elif typ == "optstr":
            out[name] = val.decode("utf-8")
        elif typ == "intorstr":
            f = {n: v for n, _, v in pb_fields(val)}
            out[name] = f.get(3, b"").decode("utf-8") if f.get(1) == 1 else _signed64(f.get(2, 0))
        elif typ == "time":
            t = pb_decode(val, PB_TIME)
            if t.get("seconds"):
                out[name] = datetime.datetime.fromtimestamp(
                    t["seconds"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif typ in ("map_str", "map_bytes", "map_qty"):
            entry = {k: v for k, _, v in pb_fields(val)}
            key = entry.get(1, b"").decode("utf-8")
            raw = entry.get(2, b"")
            if typ == "map_qty":  # resource.Quantity is a message {1: string}
                raw = {n: v for n, _, v in pb_fields(raw)}.get(1, b"")
            out.setdefault(name, {})[key] = (base64.b64encode(raw).decode() if typ == "map_bytes"
                                             else raw.decode("utf-8"))
        elif typ == "rep_str":
            out.setdefault(name, []).append(val.decode("utf-8"))
        elif isinstance(typ, tuple) and typ[0] == "msg":
            sub = pb_decode(val, typ[1])
            if sub:
                out[name] = sub
        elif isinstance(typ, tuple) and typ[0] == "rep_msg":
            out.setdefault(name, []).append(pb_decode(val, typ[1]))
    return out


def decode_protobuf_body(body):
    if body[:4] != b"k8s\x00":
        raise bad_request("protobuf body without the k8s magic prefix")
    env = {num: val for num, _, val in pb_fields(body[4:])}
    tm = {num: val.decode() for num, _, val in pb_fields(env.get(1, b""))}
    api_version, kind = tm.get(1, ""), tm.get(2, "")
    if kind in ("SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview",
                "SubjectAccessReview", "TokenReview"):
        # kubectl auth can-i / whoami: the answer does not depend on the request
        return {"apiVersion": api_version, "kind": kind, "metadata": {}, "spec": {}}
    if kind not in PB_KINDS:
        raise ApiError(415, "UnsupportedMediaType",
                       "the emulator cannot decode protobuf bodies of kind %r; send JSON" % kind)
    obj = pb_decode(env.get(2, b""), PB_KINDS[kind])
    if kind != "DeleteOptions":
        obj = dict([("apiVersion", api_version), ("kind", kind)] + list(obj.items()))
    return obj


# ----------------------------------------------------------------------------------------------
# Patches
# ----------------------------------------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return deep(patch)
    if not isinstance(target, dict):
        target = {}
    else:
        target = dict(target)
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


# Strategic-merge-patch list merge keys of the built-in types (patchMergeKey in k8s.io/api).
SMP_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "imagePullSecrets": "name", "ownerReferences": "uid", "conditions": "type",
    "hostAliases": "ip", "topologySpreadConstraints": "topologyKey", "secrets": "name",
    "resourceClaims": "name", "schedulingGates": "name", "addresses": "type",
}
SMP_PRIMITIVE_MERGE = {"finalizers"}


def _ports_key(items):
    for it in items:
        if isinstance(it, dict) and "containerPort" in it:
            return "containerPort"
    return "port"


def strategic_merge(orig, patch):
    """A good-enough strategic merge patch of built-in objects (directives included)."""
    if not isinstance(patch, dict):
        return deep(patch)
    if not isinstance(orig, dict):
        orig = {}
    if patch.get("$patch") == "replace":
        return {k: deep(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(orig)
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys") or k.startswith("$setElementOrder/"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [x for x in result[field] if x not in (v or [])]
            continue
        if v is None:
            result.pop(k, None)
            continue
        cur = result.get(k)
        if isinstance(v, dict):
            merged = strategic_merge(cur, v)
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
        elif isinstance(v, list):
            result[k] = _smp_list(k, cur if isinstance(cur, list) else [], v)
        else:
            result[k] = v
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _smp_list(field, orig, patch):
    if any(isinstance(it, dict) and it.get("$patch") == "replace" for it in patch):
        return [deep(it) for it in patch if not (isinstance(it, dict) and "$patch" in it)]
    if field in SMP_PRIMITIVE_MERGE:
        out = list(orig)
        for it in patch:
            if it not in out:
                out.append(it)
        return out
    key = SMP_MERGE_KEYS.get(field)
    if field == "ports":
        key = _ports_key(list(orig) + list(patch))
    if not key or not all(isinstance(it, dict) for it in patch):
        return [deep(it) for it in patch]
    out = [deep(it) for it in orig]
    for it in patch:
        kv = it.get(key)
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == kv), None)
        if it.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append({k: v for k, v in deep(it).items() if v is not None and k != "$patch"})
        else:
            out[idx] = strategic_merge(out[idx], it)
    return out


def apply_merge(orig, applied, strategic):
    """Server-side apply without managedFields: a merge where lists are merged by their keys
    for built-ins (strategic) and replaced for custom resources (atomic lists)."""
    if strategic:
        return strategic_merge(orig, applied)
    if not isinstance(applied, dict) or not isinstance(orig, dict):
        return deep(applied)
    out = dict(orig)
    for k, v in applied.items():
        out[k] = apply_merge(orig.get(k), v, False) if isinstance(v, dict) else deep(v)
    return out


# ----------------------------------------------------------------------------------------------
# CRD structural schemas: defaulting, validation, unknown fields
# ----------------------------------------------------------------------------------------------

_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
               dict: "object", type(None): "null"}


def _json_type(v):
    return _TYPE_NAMES.get(type(v), "object")


def apply_defaults(schema, obj):
    """Sets `default` values of the schema (like the apiserver does on create, update and read)."""
    if not isinstance(schema, dict):
        return obj
    if isinstance(obj, dict):
        props = schema.get("properties") or {}
        for k, sub in props.items():
            if k not in obj and isinstance(sub, dict) and "default" in sub:
                obj[k] = deep(sub["default"])
            if k in obj:
                obj[k] = apply_defaults(sub, obj[k])
        addl = schema.get("additionalProperties")
        if isinstance(addl, dict):
            for k in list(obj.keys()):
                if k not in props:
                    obj[k] = apply_defaults(addl, obj[k])
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, it in enumerate(obj):
            obj[i] = apply_defaults(schema["items"], it)
    return obj


def _child(path, key):
    return key if not path else "%s.%s" % (path, key)


def validate_schema(schema, obj, path, errs):
    """The checks of kube-openapi's validator that CRDs use, with the apiserver's messages."""
    if not isinstance(schema, dict):
        return
    if obj is None:
        if schema.get("nullable") or not schema.get("type"):
            return
        errs.append(FieldError("type", path, "null", "%s in body must be of type %s: \"null\""
                               % (path, schema["type"])))
        return
    int_or_string = schema.get("x-kubernetes-int-or-string")
    typ = schema.get("type")
    actual = _json_type(obj)
    if int_or_string:
        if actual not in ("integer", "string"):
            errs.append(FieldError("type", path, actual, "%s in body must be of type int-or-string: %s"
                                   % (path, json.dumps(actual))))
            return
    elif typ:
        ok = (actual == typ or (typ == "number" and actual == "integer")
              or (typ == "integer" and isinstance(obj, float) and obj.is_integer()))
        if not ok:
            errs.append(FieldError("type", path, actual, "%s in body must be of type %s: %s"
                                   % (path, typ, json.dumps(actual))))
            return
    if "enum" in schema and obj not in schema["enum"]:
        vals = ", ".join(json.dumps(v) if isinstance(v, str) else dumps(v) for v in schema["enum"])
        errs.append(FieldError("notsupported", path, obj, "supported values: " + vals))
    if isinstance(obj, str):
        if "maxLength" in schema and len(obj) > schema["maxLength"]:
            errs.append(FieldError("toolong", path, obj, "may not be more than %d bytes"
                                   % schema["maxLength"]))
        if "minLength" in schema and len(obj) < schema["minLength"]:
            errs.append(FieldError("invalid", path, obj, "%s in body should be at least %d chars long"
                                   % (path, schema["minLength"])))
        if "pattern" in schema:
            try:
                if not re.search(schema["pattern"], obj):
                    errs.append(FieldError("invalid", path, obj, "%s in body should match '%s'"
                                           % (path, schema["pattern"])))
            except re.error:
                pass
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        if "maximum" in schema:
            mx = schema["maximum"]
            if obj > mx or (schema.get("exclusiveMaximum") and obj == mx):
                errs.append(FieldError("invalid", path, obj, "%s in body should be less than %s%s"
                                       % (path, "" if schema.get("exclusiveMaximum") else "or equal to ", mx)))
        if "minimum" in schema:
            mn = schema["minimum"]
            if obj < mn or (schema.get("exclusiveMinimum") and obj == mn):
                errs.append(FieldError("invalid", path, obj, "%s in body should be greater than %s%s"
                                       % (path, "" if schema.get("exclusiveMinimum") else "or equal to ", mn)))
    if isinstance(obj, list):
        if "maxItems" in schema and len(obj) > schema["maxItems"]:
            errs.append(FieldError("toomany", path, len(obj), "must have at most %d items"
                                   % schema["maxItems"]))
        if "minItems" in schema and len(obj) < schema["minItems"]:
            errs.append(FieldError("invalid", path, len(obj), "%s in body should have at least %d items"
                                   % (path, schema["minItems"])))
        items = schema.get("items")
        if isinstance(items, dict):
            for i, it in enumerate(obj):
                validate_schema(items, it, "%s[%d]" % (path, i), errs)
    if isinstance(obj, dict):
        for req in schema.get("required") or []:
            if req not in obj:
                errs.append(FieldError("required", _child(path, req)))
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        for k, v in obj.items():
            if k in props:
                validate_schema(props[k], v, _child(path, k), errs)
            elif isinstance(addl, dict):
                validate_schema(addl, v, _child(path, k), errs)
    for sub in schema.get("allOf") or []:
        validate_schema(sub, obj, path, errs)


def unknown_fields(schema, obj, path, out, prune):
    """Collects (and with prune=True removes) fields the structural schema does not declare."""
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(obj, dict):
        props = schema.get("properties")
        addl = schema.get("additionalProperties")
        if props is None and addl is None:
            if schema.get("type") == "object" and obj and not schema.get("x-kubernetes-embedded-resource"):
                for k in list(obj.keys()):
                    out.append(_child(path, k))
                    if prune:
                        del obj[k]
            return
        for k in list(obj.keys()):
            if props and k in props:
                unknown_fields(props[k], obj[k], _child(path, k), out, prune)
            elif isinstance(addl, dict):
                unknown_fields(addl, obj[k], _child(path, k), out, prune)
            elif addl is True:
                continue
            else:
                out.append(_child(path, k))
                if prune:
                    del obj[k]
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, it in enumerate(obj):
            unknown_fields(schema["items"], it, "%s[%d]" % (path, i), out, prune)


# ----------------------------------------------------------------------------------------------
# Resource types
# ----------------------------------------------------------------------------------------------

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class ResourceType:
    def __init__(self, group, version, plural, singular, kind, namespaced, short_names=(),
                 categories=(), subresources=(), verbs=None, crd=None, schema=None,
                 printer_columns=None, scale=None):
        self.group, self.version, self.plural, self.singular = group, version, plural, singular
        self.kind, self.namespaced = kind, namespaced
        self.short_names, self.categories = list(short_names), list(categories)
        self.subresources = set(subresources)
        self.verbs = verbs or ALL_VERBS
        self.crd = crd                    # name of the CRD that defines it, None for built-ins
        self.schema = schema              # openAPIV3Schema of this version (CRDs only)
        self.printer_columns = printer_columns or []
        self.scale = scale                # CRD scale subresource paths
        self.store_key = (group, plural)  # all versions of one resource share one store

    @property
    def api_version(self):
        return self.version if not self.group else "%s/%s" % (self.group, self.version)

    @property
    def has_status(self):
        return "status" in self.subresources


# group/version plural singular Kind scope(N|C) shortNames categories subresources
# (one line each; "-" for none). Enough for what kubectl, helm and the charts we install use;
# objects of all these kinds are stored generically.
BUILTIN_TABLE = """
v1 namespaces namespace Namespace C ns - status,finalize
v1 serviceaccounts serviceaccount ServiceAccount N sa - token
v1 configmaps configmap ConfigMap N cm - -
v1 secrets secret Secret N - - -
v1 pods pod Pod N po all status,log,exec,eviction,ephemeralcontainers,binding
v1 events event Event N ev - -
v1 nodes node Node C no - status,proxy
v1 services service Service N svc all status,proxy
v1 endpoints endpoints Endpoints N ep - -
v1 persistentvolumes persistentvolume PersistentVolume C pv - status
v1 persistentvolumeclaims persistentvolumeclaim PersistentVolumeClaim N pvc - status
v1 replicationcontrollers replicationcontroller ReplicationController N rc all status,scale
v1 resourcequotas resourcequota ResourceQuota N quota - status
v1 limitranges limitrange LimitRange N limits - -
v1 podtemplates podtemplate PodTemplate N - - -
apps/v1 deployments deployment Deployment N deploy all status,scale
apps/v1 daemonsets daemonset DaemonSet N ds all status
apps/v1 replicasets replicaset ReplicaSet N rs all status,scale
apps/v1 statefulsets statefulset StatefulSet N sts all status,scale
apps/v1 controllerrevisions controllerrevision ControllerRevision N - - -
batch/v1 jobs job Job N - all status
batch/v1 cronjobs cronjob CronJob N cj all status
autoscaling/v2 horizontalpodautoscalers horizontalpodautoscaler HorizontalPodAutoscaler N hpa all status
autoscaling/v1 horizontalpodautoscalers horizontalpodautoscaler HorizontalPodAutoscaler N hpa all status
apiextensions.k8s.io/v1 customresourcedefinitions customresourcedefinition CustomResourceDefinition C crd,crds api-extensions status
apiregistration.k8s.io/v1 apiservices apiservice APIService C - api-extensions status
rbac.authorization.k8s.io/v1 clusterroles clusterrole ClusterRole C - - -
rbac.authorization.k8s.io/v1 clusterrolebindings clusterrolebinding ClusterRoleBinding C - - -
rbac.authorization.k8s.io/v1 roles role Role N - - -
rbac.authorization.k8s.io/v1 rolebindings rolebinding RoleBinding N - - -
storage.k8s.io/v1 csidrivers csidriver CSIDriver C - - -
storage.k8s.io/v1 csinodes csinode CSINode C - - -
storage.k8s.io/v1 storageclasses storageclass StorageClass C sc - -
storage.k8s.io/v1 volumeattachments volumeattachment VolumeAttachment C - - status
admissionregistration.k8s.io/v1 mutatingwebhookconfigurations mutatingwebhookconfiguration MutatingWebhookConfiguration C - api-extensions -
admissionregistration.k8s.io/v1 validatingwebhookconfigurations validatingwebhookconfiguration ValidatingWebhookConfiguration C - api-extensions -
admissionregistration.k8s.io/v1 validatingadmissionpolicies validatingadmissionpolicy ValidatingAdmissionPolicy C - api-extensions status
admissionregistration.k8s.io/v1 validatingadmissionpolicybindings validatingadmissionpolicybinding ValidatingAdmissionPolicyBinding C - api-extensions -
storage.k8s.io/v1 csistoragecapacities csistoragecapacity CSIStorageCapacity N - - -
flowcontrol.apiserver.k8s.io/v1 flowschemas flowschema FlowSchema C - - status
flowcontrol.apiserver.k8s.io/v1 prioritylevelconfigurations prioritylevelconfiguration PriorityLevelConfiguration C - - status
policy/v1 poddisruptionbudgets poddisruptionbudget PodDisruptionBudget N pdb - status
networking.k8s.io/v1 ingresses ingress Ingress N ing - status
networking.k8s.io/v1 ingressclasses ingressclass IngressClass C - - -
networking.k8s.io/v1 networkpolicies networkpolicy NetworkPolicy N netpol - -
coordination.k8s.io/v1 leases lease Lease N - - -
events.k8s.io/v1 events event Event N - - -
discovery.k8s.io/v1 endpointslices endpointslice EndpointSlice N - - -
scheduling.k8s.io/v1 priorityclasses priorityclass PriorityClass C pc - -
node.k8s.io/v1 runtimeclasses runtimeclass RuntimeClass C - - -
certificates.k8s.io/v1 certificatesigningrequests certificatesigningrequest CertificateSigningRequest C csr - status,approval
"""

# Create-only "review" resources: the answer is computed, nothing is stored.
REVIEW_TABLE = """
authorization.k8s.io/v1 selfsubjectaccessreviews selfsubjectaccessreview SelfSubjectAccessReview C
authorization.k8s.io/v1 selfsubjectrulesreviews selfsubjectrulesreview SelfSubjectRulesReview C
authorization.k8s.io/v1 subjectaccessreviews subjectaccessreview SubjectAccessReview C
authentication.k8s.io/v1 selfsubjectreviews selfsubjectreview SelfSubjectReview C
authentication.k8s.io/v1 tokenreviews tokenreview TokenReview C
"""


def _parse_gv(gv):
    return ("", gv) if "/" not in gv else tuple(gv.split("/", 1))


def _builtin_types():
    out = []
    for line in BUILTIN_TABLE.strip().splitlines():
        gv, plural, singular, kind, scope, short, cats, subs = line.split()
        g, v = _parse_gv(gv)
        out.append(ResourceType(g, v, plural, singular, kind, scope == "N",
                                [] if short == "-" else short.split(","),
                                [] if cats == "-" else cats.split(","),
                                [] if subs == "-" else subs.split(",")))
    for line in REVIEW_TABLE.strip().splitlines():
        gv, plural, singular, kind, scope = line.split()
        g, v = _parse_gv(gv)
        out.append(ResourceType(g, v, plural, singular, kind, False, verbs=["create"]))
    return out


BUILTIN_TYPES = _builtin_types()
REVIEW_KINDS = {rt.kind for rt in BUILTIN_TYPES if rt.verbs == ["create"]}
# Preferred version first; groups listed in this order in /apis (apps before extensions etc.).
BUILTIN_GROUP_ORDER = []
for _rt in BUILTIN_TYPES:
    if _rt.group and _rt.group not in BUILTIN_GROUP_ORDER:
        BUILTIN_GROUP_ORDER.append(_rt.group)

# Kinds whose objects carry metadata.generation (those with a spec the controllers observe).
NO_GENERATION_KINDS = {"Namespace", "Node", "ConfigMap", "Secret", "ServiceAccount", "Event",
                       "Endpoints", "Service", "PersistentVolumeClaim", "PersistentVolume"}

MODEL_GROUP = "inference.sagemaker.aws.amazon.com"
MODEL_KINDS = {"JumpStartModel": "spec.sageMakerEndpoint.name",
               "InferenceEndpointConfig": "spec.endpointName"}
# The operator's source is not public; this is the name it is documented to use in the guides we
# have, and tests only need "some finalizer that the operator removes".
MODEL_FINALIZER = "inference.sagemaker.aws.amazon.com/finalizer"

DEFAULT_CONFIG = {"autoReadyDeployments": True, "modelOperator": "off", "modelDelaySeconds": 1.0,
                  "modelFailReason": "ModelDeploymentFailed",
                  "modelFailMessage": "Model deployment failed: insufficient capacity for the requested instance type",
                  "serverVersion": "v1.33.5-eks-3025e55"}

INITIAL_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"]

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
             "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
             "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                 "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                 "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def strip_for_compare(obj):
    """The part of an object whose change bumps metadata.generation."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def is_ready_condition(obj, ctype):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c.get("status") == "True"
    return False


# ----------------------------------------------------------------------------------------------
# One cluster: store, verbs, watch log, and the controllers we play
#
# Invariant: a stored object is never mutated in place. Every write stores a fresh dict, so
# handlers may serialise objects they got from the store after releasing the lock, and the
# watch log can keep references to old versions.
# ----------------------------------------------------------------------------------------------

MAX_EVENTS = 20000


class Cluster:
    def __init__(self, cid):
        self.id = cid
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.requests = []
        self.last_auth_scheme = None
        self.last_token_kind = None
        self.rv = 0
        self.epoch = 0
        self.timers = []
        self.reset()

    # -- state ------------------------------------------------------------------------------

    def reset(self):
        with self.lock:
            for t in self.timers:
                t.cancel()
            self.timers = []
            self.epoch += 1          # open watches of the old state end
            self.config = dict(DEFAULT_CONFIG)
            self.objects = {}        # store_key -> {(namespace, name): object}
            self.crd_types = {}      # CRD name -> [ResourceType per served version]
            self.events = []         # (rv, type, store_key, object, previous object)
            self.events_floor = self.rv  # watches from an older resourceVersion get 410 Gone
            self.logs = {}           # (namespace, pod, container or "", previous) -> text
            self.openapi_cache = {}
            self.node_rr = 0
            self.ip_counter = 10
            self.deleting_ns = set()
            self._index_types()
            for ns in INITIAL_NAMESPACES:
                self._create_internal(self.type_for("", "v1", "Namespace"),
                                      {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            self.cond.notify_all()

    def _index_types(self):
        self.by_path, self.by_kind = {}, {}
        for rt in BUILTIN_TYPES + [t for ts in self.crd_types.values() for t in ts]:
            self.by_path[(rt.group, rt.version, rt.plural)] = rt
            self.by_kind.setdefault((rt.group, rt.version, rt.kind), rt)
        self.openapi_cache = {}

    def all_types(self):
        return BUILTIN_TYPES + [t for ts in self.crd_types.values() for t in ts]

    def type_for(self, group, version, kind):
        return self.by_kind.get((group, version, kind))

    def type_for_api_version(self, api_version, kind):
        g, v = _parse_gv(api_version or "")
        return self.type_for(g, v, kind)

    def _bucket(self, rt):
        return self.objects.setdefault(rt.store_key, {})

    def _get(self, rt, ns, name):
        return self._bucket(rt).get((ns or "", name))

    def _next_rv(self):
        self.rv += 1
        return str(self.rv)

    def _emit(self, etype, rt, obj, old=None):
        self.events.append((int(obj["metadata"]["resourceVersion"]), etype, rt.store_key, obj, old))
        if len(self.events) > MAX_EVENTS:
            self.events_floor = self.events[MAX_EVENTS // 2 - 1][0]
            del self.events[:MAX_EVENTS // 2]
        self.cond.notify_all()

    def out(self, rt, obj):
        """The object as seen through version rt (CRD versions share one stored object)."""
        if obj is not None and obj.get("apiVersion") != rt.api_version:
            obj = dict(obj)
            obj["apiVersion"] = rt.api_version
        return obj

    def ns_exists(self, ns):
        return ("", ns) in self.objects.get(("", "namespaces"), {})

    # -- writes -----------------------------------------------------------------------------

    def _commit(self, rt, obj, old, react=True):
        obj["metadata"]["resourceVersion"] = self._next_rv()
        meta = obj["metadata"]
        self._bucket(rt)[(meta.get("namespace", ""), meta["name"])] = obj
        self._emit("MODIFIED" if old is not None else "ADDED", rt, obj, old)
        if rt.group == "apiextensions.k8s.io" and rt.kind == "CustomResourceDefinition":
            self._register_crd(obj)
        if react:
            try:
                self._react(rt, obj, old)
            except Exception:  # a controller bug must not fail the API call that triggered it
                traceback.print_exc()
        return obj

    def _remove(self, rt, obj, propagation="Background"):
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if self._bucket(rt).pop(key, None) is None:
            return obj
        gone = dict(obj)
        gone["metadata"] = dict(meta)
        gone["metadata"]["resourceVersion"] = self._next_rv()
        self._emit("DELETED", rt, gone, obj)
        kind = obj.get("kind")
        if rt.group == "" and kind == "Namespace":
            self.deleting_ns.add(meta["name"])  # no controller re-creates anything in there now
            try:
                for skey, bucket in list(self.objects.items()):
                    for (ons, _), o in list(bucket.items()):
                        if ons == meta["name"]:
                            self._remove(self._type_of_store(skey, o), o)
            finally:
                self.deleting_ns.discard(meta["name"])
        elif rt.group == "apiextensions.k8s.io" and kind == "CustomResourceDefinition":
            self._unregister_crd(obj)
        elif rt.group == "" and kind == "Pod":
            for k in [k for k in self.logs if k[0] == key[0] and k[1] == key[1]]:
                del self.logs[k]
        self._collect_garbage(meta.get("uid"), propagation)
        if rt.group == "" and kind == "Pod":
            self._pod_removed(gone)
        return gone

    def _pod_removed(self, pod):
        """A ReplicaSet/DaemonSet/StatefulSet replaces a deleted pod (kubectl delete pod to restart)."""
        ns = pod["metadata"].get("namespace", "")
        if not self.config.get("autoReadyDeployments", True) or ns in self.deleting_ns:
            return
        for ref in pod["metadata"].get("ownerReferences") or []:
            if not ref.get("controller"):
                continue
            kinds = {"ReplicaSet": ("apps", "ReplicaSet"), "DaemonSet": ("apps", "DaemonSet"),
                     "StatefulSet": ("apps", "StatefulSet")}
            if ref.get("kind") not in kinds:
                continue
            ort = self.type_for(kinds[ref["kind"]][0], "v1", kinds[ref["kind"]][1])
            owner = self._get(ort, ns, ref.get("name"))
            if owner is None or owner["metadata"]["uid"] != ref.get("uid") or owner["metadata"].get("deletionTimestamp"):
                continue
            if ref["kind"] == "DaemonSet":
                self._reconcile_daemonset(owner)
            elif ref["kind"] == "StatefulSet":
                self._reconcile_statefulset(owner)
            else:
                dref = next((r for r in owner["metadata"].get("ownerReferences") or []
                             if r.get("kind") == "Deployment"), None)
                dep = self._get(self.type_for("apps", "v1", "Deployment"), ns, dref["name"]) if dref else None
                if dep is not None and dep["metadata"]["uid"] == dref.get("uid"):
                    self.reconcile_deployment(dep)

    def reconcile_workloads(self):
        """After autoReadyDeployments is switched on: bring every workload up."""
        with self.lock:
            for kind, fn in (("Deployment", self.reconcile_deployment), ("DaemonSet", self._reconcile_daemonset),
                             ("StatefulSet", self._reconcile_statefulset)):
                for o in list(self._bucket(self.type_for("apps", "v1", kind)).values()):
                    if not o["metadata"].get("deletionTimestamp"):
                        fn(o)

    def _type_of_store(self, skey, obj):
        g, v = _parse_gv(obj.get("apiVersion", ""))
        rt = self.by_kind.get((g, v, obj.get("kind")))
        if rt is None:
            rt = next(t for t in self.all_types() if t.store_key == skey)
        return rt

    def _collect_garbage(self, uid, propagation):
        if not uid:
            return
        for skey, bucket in list(self.objects.items()):
            for o in list(bucket.values()):
                refs = o["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == uid for r in refs):
                    continue
                rt = self._type_of_store(skey, o)
                if propagation == "Orphan":
                    new = deep(o)
                    new["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                    if not new["metadata"]["ownerReferences"]:
                        del new["metadata"]["ownerReferences"]
                    self._commit(rt, new, o, react=False)
                elif o["metadata"].get("finalizers"):
                    if not o["metadata"].get("deletionTimestamp"):
                        new = deep(o)
                        new["metadata"]["deletionTimestamp"] = now_iso()
                        new["metadata"]["deletionGracePeriodSeconds"] = 0
                        self._commit(rt, new, o)
                else:
                    self._remove(rt, o)

    def _create_internal(self, rt, obj, react=True):
        """Creates an object on behalf of a controller (no validation, no dry-run)."""
        obj = deep(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            meta["name"] = meta.get("generateName", "obj-") + rand_suffix()
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_iso())
        if rt.kind not in NO_GENERATION_KINDS:
            meta.setdefault("generation", 1)
        self._builtin_defaults(rt, obj, None)
        return self._commit(rt, obj, self._get(rt, meta.get("namespace"), meta["name"]), react=react)

    def _write_status(self, rt, obj, status):
        new = deep(obj)
        new["status"] = status
        return self._commit(rt, new, obj, react=False)

    # -- verbs ------------------------------------------------------------------------------

    def get(self, rt, ns, name):
        with self.lock:
            obj = self._get(rt, ns, name)
            if obj is None:
                raise not_found(rt, name)
            return self.out(rt, obj)

    def list(self, rt, ns, label_sel="", field_sel=""):
        lreqs, freqs = parse_label_selector(label_sel), parse_field_selector(field_sel)
        with self.lock:
            items = [self.out(rt, o) for (ons, _), o in sorted(self._bucket(rt).items())
                     if (ns is None or ons == ns) and match_labels(lreqs, o["metadata"].get("labels"))
                     and match_fields(freqs, o)]
            return items, str(self.rv)

    def _check_body(self, rt, obj):
        if not isinstance(obj, dict):
            raise bad_request("the body of the request is not a JSON object")
        if obj.get("kind") and obj["kind"] != rt.kind:
            raise bad_request('the API version in the data (%s) does not match the expected API version (%s)'
                              % (obj.get("apiVersion"), rt.api_version) if obj.get("apiVersion") != rt.api_version
                              else "%s in version \"%s\" cannot be handled as a %s: the kind in the data (%s) does not match the expected kind"
                              % (obj["kind"], rt.version, rt.kind, obj["kind"]))
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {}

    def create(self, rt, ns, body, q, hook=False):
        obj = deep(body)
        self._check_body(rt, obj)
        meta = obj["metadata"]
        dry_run = "All" in q.get("dryRun", [])
        with self.lock:
            if rt.namespaced:
                bns = meta.get("namespace")
                if bns and ns and bns != ns:
                    raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
                ns = ns or bns or "default"
                meta["namespace"] = ns
                if not self.ns_exists(ns):
                    if not hook:
                        raise ns_not_found(ns)
                    self._create_internal(self.type_for("", "v1", "Namespace"),
                                          {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            else:
                meta.pop("namespace", None)
                ns = ""
            if rt.kind in REVIEW_KINDS:
                return self._review(obj), []
            if not meta.get("name"):
                if meta.get("generateName"):
                    meta["name"] = meta["generateName"] + rand_suffix()
                else:
                    raise invalid(rt, "", [FieldError("required", "metadata.name",
                                                      detail="name or generateName is required")])
            name = meta["name"]
            existing = self._get(rt, ns, name)
            if existing is not None and not hook:
                if existing["metadata"].get("deletionTimestamp"):
                    raise ApiError(409, "AlreadyExists", 'object is being deleted: %s "%s" already exists'
                                   % (qualified_resource(rt), name),
                                   {"name": name, "group": rt.group, "kind": rt.plural})
                raise already_exists(rt, name)
            warnings = []
            if hook:
                if existing is not None:
                    meta.setdefault("uid", existing["metadata"]["uid"])
                    meta.setdefault("creationTimestamp", existing["metadata"]["creationTimestamp"])
                self._builtin_defaults(rt, obj, None, hook=True)
                if rt.schema is not None:
                    apply_defaults(rt.schema, obj)
            else:
                self._validate_name(rt, name)
                meta.pop("deletionTimestamp", None)
                if rt.has_status and rt.kind not in ("Namespace", "CustomResourceDefinition"):
                    obj.pop("status", None)
                self._prepare(rt, obj, q, warnings, None)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now_iso())
            for k in ("resourceVersion", "selfLink", "managedFields"):
                meta.pop(k, None)
            if rt.kind not in NO_GENERATION_KINDS and not hook:
                meta["generation"] = 1
            elif rt.kind not in NO_GENERATION_KINDS:
                meta.setdefault("generation", 1)
            if dry_run:
                return self.out(rt, obj), warnings
            return self.out(rt, self._commit(rt, obj, existing, react=not hook)), warnings

    def update(self, rt, ns, name, body, q, sub=None):
        new = deep(body)
        self._check_body(rt, new)
        with self.lock:
            old = self._get(rt, ns, name)
            if old is None:
                raise not_found(rt, name)
            meta = new["metadata"]
            if meta.get("name") and meta["name"] != name:
                raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                  % (meta["name"], name))
            if meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise conflict(rt, name)
            return self._write_update(rt, old, new, q, sub)

    def patch(self, rt, ns, name, ptype, raw, q, sub=None):
        with self.lock:
            old = self._get(rt, ns, name)
            try:
                if ptype == "application/apply-patch+yaml":
                    applied = yaml.safe_load(raw.decode("utf-8"))
                    if not isinstance(applied, dict):
                        raise bad_request("apply patch is not a YAML/JSON object")
                    if old is None:
                        if sub:
                            raise not_found(rt, name)
                        applied.setdefault("metadata", {})["name"] = name
                        if rt.namespaced:
                            applied["metadata"]["namespace"] = ns
                        return self.create(rt, ns, applied, q)
                    new = apply_merge(deep(old), applied, strategic=rt.crd is None)
                else:
                    if old is None:
                        raise not_found(rt, name)
                    patch = json.loads(raw.decode("utf-8") or "null")
                    if ptype == "application/merge-patch+json":
                        new = merge_patch(deep(old), patch)
                    elif ptype == "application/strategic-merge-patch+json":
                        if rt.crd is not None:
                            raise ApiError(415, "UnsupportedMediaType",
                                           "the body of the request was in an unknown format - accepted media types include: "
                                           "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
                        new = strategic_merge(deep(old), patch)
                    elif ptype == "application/json-patch+json":
                        if jsonpatch is None:
                            raise ApiError(415, "UnsupportedMediaType", "json-patch needs the jsonpatch module")
                        try:
                            new = jsonpatch.apply_patch(deep(old), patch)
                        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
                            raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request: %s" % e)
                    else:
                        raise ApiError(415, "UnsupportedMediaType",
                                       "the body of the request was in an unknown format - accepted media types include: "
                                       "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
            except (ValueError, yaml.YAMLError) as e:
                raise bad_request("error decoding patch: %s" % e)
            if not isinstance(new, dict):
                raise bad_request("the patch did not produce an object")
            new.setdefault("metadata", {})
            if new["metadata"].get("resourceVersion") not in (None, old["metadata"]["resourceVersion"]):
                raise conflict(rt, name)
            new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
            result = self._write_update(rt, old, new, q, sub)
            return result

    def _write_update(self, rt, old, new, q, sub):
        dry_run = "All" in q.get("dryRun", [])
        warnings = []
        if sub == "status":
            merged = deep(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            new = merged
        elif rt.has_status:
            if "status" in old:
                new["status"] = deep(old["status"])
            else:
                new.pop("status", None)
        meta, ometa = new["metadata"], old["metadata"]
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "namespace", "name", "generation"):
            if k in ometa:
                meta[k] = ometa[k]
            else:
                meta.pop(k, None)
        meta["resourceVersion"] = ometa["resourceVersion"]
        meta.pop("managedFields", None)
        self._prepare(rt, new, q, warnings, old, sub)
        if "generation" in ometa and strip_for_compare(new) != strip_for_compare(old):
            meta["generation"] = ometa["generation"] + 1
        if new == old:
            return self.out(rt, old), warnings  # no-op writes keep the resourceVersion
        if dry_run:
            return self.out(rt, new), warnings
        if ometa.get("deletionTimestamp") and not meta.get("finalizers"):
            return self.out(rt, self._remove(rt, new)), warnings
        return self.out(rt, self._commit(rt, new, old)), warnings

    def delete(self, rt, ns, name, q, opts):
        with self.lock:
            old = self._get(rt, ns, name)
            if old is None:
                raise not_found(rt, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": Precondition failed: UID in precondition: %s, UID in object meta: %s'
                               % (qualified_resource(rt), name, pre["uid"], old["metadata"]["uid"]))
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise conflict(rt, name)
            if rt.group == "" and rt.kind == "Namespace" and name in ("default", "kube-system", "kube-public"):
                raise ApiError(403, "Forbidden", 'namespaces "%s" is forbidden: this namespace may not be deleted' % name,
                               {"name": name, "kind": "namespaces"})
            if "All" in (q.get("dryRun", []) + (opts.get("dryRun") or [])):
                return self.out(rt, old)
            policy = (q.get("propagationPolicy", [None])[0] or opts.get("propagationPolicy")
                      or ("Orphan" if opts.get("orphanDependents") else "Background"))
            if old["metadata"].get("finalizers"):
                if old["metadata"].get("deletionTimestamp"):
                    return self.out(rt, old)
                new = deep(old)
                new["metadata"]["deletionTimestamp"] = now_iso()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                return self.out(rt, self._commit(rt, new, old))
            gone = self._remove(rt, old, policy)
            if rt.kind == "Namespace" and rt.group == "":
                gone = deep(gone)
                gone["metadata"]["deletionTimestamp"] = now_iso()
                gone.setdefault("status", {})["phase"] = "Terminating"
            return self.out(rt, gone)

    def delete_collection(self, rt, ns, q, opts):
        with self.lock:
            items, _ = self.list(rt, ns, q.get("labelSelector", [""])[0], q.get("fieldSelector", [""])[0])
            return [self.delete(rt, o["metadata"].get("namespace"), o["metadata"]["name"], q, opts)
                    for o in items]

    def force_remove(self, rt, ns, name):
        with self.lock:
            obj = self._get(rt, ns, name)
            if obj is None:
                raise not_found(rt, name)
            self._remove(rt, obj)

    # -- scale subresource ------------------------------------------------------------------

    def _scale_paths(self, rt):
        if rt.scale:
            return (rt.scale.get("specReplicasPath", ".spec.replicas").lstrip("."),
                    rt.scale.get("statusReplicasPath", ".status.replicas").lstrip("."),
                    (rt.scale.get("labelSelectorPath") or "").lstrip("."))
        return "spec.replicas", "status.replicas", None

    def get_scale(self, rt, ns, name):
        with self.lock:
            obj = self._get(rt, ns, name)
            if obj is None:
                raise not_found(rt, name)
            spec_p, status_p, sel_p = self._scale_paths(rt)
            if sel_p:
                selector = get_path(obj, sel_p) or ""
            else:
                selector = selector_from_label_selector((obj.get("spec") or {}).get("selector"))
            m = obj["metadata"]
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                   "creationTimestamp") if k in m},
                    "spec": {"replicas": get_path(obj, spec_p) or 0},
                    "status": {"replicas": get_path(obj, status_p) or 0, "selector": selector}}

    def set_scale(self, rt, ns, name, scale_obj, q):
        with self.lock:
            obj = self._get(rt, ns, name)
            if obj is None:
                raise not_found(rt, name)
            replicas = get_path(scale_obj, "spec.replicas")
            if not isinstance(replicas, int):
                raise invalid(rt, name, [FieldError("invalid", "spec.replicas", replicas, "must be an integer")])
            new = deep(obj)
            cur = new
            parts = self._scale_paths(rt)[0].split(".")
            for p in parts[:-1]:
                cur = cur.setdefault(p, {})
            cur[parts[-1]] = replicas
            self._write_update(rt, obj, new, q, None)
            return self.get_scale(rt, ns, name)

    # -- pods/log ---------------------------------------------------------------------------

    def pod_log(self, ns, name, q):
        pods = self.type_for("", "v1", "Pod")
        with self.lock:
            pod = self._get(pods, ns, name)
            if pod is None:
                raise not_found(pods, name)
            spec = pod.get("spec") or {}
            containers = [c.get("name") for c in spec.get("containers") or []]
            inits = [c.get("name") for c in spec.get("initContainers") or []]
            ephemeral = [c.get("name") for c in spec.get("ephemeralContainers") or []]
            previous = q.get("previous", ["false"])[0] == "true"
            container = q.get("container", [""])[0]
            if not container:
                default = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
                if len(containers) == 1:
                    container = containers[0]
                elif default:
                    container = default
                elif (ns, name, "", previous) not in self.logs:
                    msg = "a container name must be specified for pod %s, choose one of: [%s]" % (name, " ".join(containers))
                    if inits:
                        msg += " or one of the init containers: [%s]" % " ".join(inits)
                    raise bad_request(msg)
            elif container not in containers + inits + ephemeral:
                raise bad_request("container %s is not valid for pod %s" % (container, name))
            text = self.logs.get((ns, name, container, previous))
            if text is None:
                text = self.logs.get((ns, name, "", previous))
            if text is None:
                if previous:
                    raise bad_request('previous terminated container "%s" in pod "%s" not found' % (container, name))
                statuses = ((pod.get("status") or {}).get("containerStatuses") or []) + \
                    ((pod.get("status") or {}).get("initContainerStatuses") or [])
                for cs in statuses:
                    waiting = (cs.get("state") or {}).get("waiting")
                    if cs.get("name") == container and waiting:
                        raise bad_request('container "%s" in pod "%s" is waiting to start: %s'
                                          % (container, name, waiting.get("reason", "ContainerCreating")))
                if (pod.get("status") or {}).get("phase", "Pending") == "Pending" and not statuses:
                    raise bad_request('container "%s" in pod "%s" is waiting to start: ContainerCreating'
                                      % (container, name))
                text = ""
        tail = q.get("tailLines", [None])[0]
        if tail is not None:
            lines = text.splitlines(keepends=True)
            n = int(tail)
            text = "".join(lines[-n:]) if n > 0 else ""
        limit = q.get("limitBytes", [None])[0]
        if limit is not None:
            text = text.encode()[:int(limit)].decode("utf-8", "ignore")
        return text

    # -- create-only review resources -------------------------------------------------------

    def _review(self, obj):
        kind = obj["kind"]
        if kind in ("SelfSubjectAccessReview", "SubjectAccessReview"):
            obj["status"] = {"allowed": True, "reason": "the emulator allows everything"}
        elif kind == "SelfSubjectRulesReview":
            obj["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                             "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                             "incomplete": False}
        elif kind == "SelfSubjectReview":
            obj["status"] = {"userInfo": {"username": "kubernetes-admin",
                                          "groups": ["system:masters", "system:authenticated"]}}
        elif kind == "TokenReview":
            obj["status"] = {"authenticated": True, "user": {"username": "kubernetes-admin",
                                                             "groups": ["system:masters", "system:authenticated"]}}
        obj["metadata"].setdefault("creationTimestamp", None)
        return obj

    # -- defaults and validation ------------------------------------------------------------

    def _validate_name(self, rt, name):
        if rt.group == "rbac.authorization.k8s.io" or rt.kind in REVIEW_KINDS:
            return  # path-segment names (e.g. "system:controller:x") are fine there
        if rt.kind in ("Namespace", "Service"):
            if not DNS1123_LABEL.match(name) or len(name) > 63:
                raise invalid(rt, name, [FieldError("invalid", "metadata.name", name, LABEL_MSG)])
        elif not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
            raise invalid(rt, name, [FieldError("invalid", "metadata.name", name, SUBDOMAIN_MSG)])

    def _prepare(self, rt, obj, q, warnings, old, sub=None):
        """Defaulting, pruning and validation of a create or update (not of hooks)."""
        self._builtin_defaults(rt, obj, old, hook=(sub == "status"))
        annotations = obj["metadata"].get("annotations") or {}
        size = sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())
        if size > 262144:  # apimachinery's TotalAnnotationSizeLimitB (bites big CRDs + client-side apply)
            raise invalid(rt, obj["metadata"].get("name", ""), [FieldError(
                "toolong", "metadata.annotations", "", "may not be more than 262144 bytes")])
        if rt.schema is None:
            if rt.kind == "CustomResourceDefinition" and rt.group == "apiextensions.k8s.io":
                self._validate_crd(rt, obj)
            elif rt.kind == "Deployment" and rt.group == "apps" and sub is None:
                errs = []
                if not (obj.get("spec") or {}).get("selector"):
                    errs.append(FieldError("required", "spec.selector"))
                if not ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers"):
                    errs.append(FieldError("required", "spec.template.spec.containers"))
                if errs:
                    raise invalid(rt, obj["metadata"]["name"], errs)
            return
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        schema = {k: v for k, v in rt.schema.items()}
        props = dict(schema.get("properties") or {})
        for k in ("apiVersion", "kind", "metadata"):
            props.pop(k, None)
        schema["properties"] = props
        if sub != "status":
            unknown = []
            unknown_fields(schema, body, "", unknown, prune=True)
            mode = (q.get("fieldValidation") or ["Warn"])[0]
            if unknown and mode == "Strict":
                raise bad_request('%s in version "%s" cannot be handled as a %s: strict decoding error: %s'
                                  % (rt.kind, rt.version, rt.kind,
                                     ", ".join('unknown field "%s"' % u for u in unknown)))
            if unknown and mode == "Warn":
                warnings.extend('unknown field "%s"' % u for u in unknown)
        else:
            unknown_fields(schema, body, "", [], prune=True)
        apply_defaults(schema, body)
        for k in list(obj.keys()):
            if k not in ("apiVersion", "kind", "metadata"):
                del obj[k]
        obj.update(body)
        errs = []
        if sub == "status":
            if "status" in obj and "status" in props:
                validate_schema(props["status"], obj["status"], "status", errs)
        else:
            check = dict(schema)
            check["properties"] = {k: v for k, v in props.items() if k != "status"}
            validate_schema(check, {k: v for k, v in body.items() if k != "status"}, "", errs)
        if errs:
            raise invalid(rt, obj["metadata"]["name"], errs)

    def _validate_crd(self, rt, obj):
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        name = obj["metadata"]["name"]
        errs = []
        if not spec.get("group"):
            errs.append(FieldError("required", "spec.group"))
        if not names.get("plural"):
            errs.append(FieldError("required", "spec.names.plural"))
        if not names.get("kind"):
            errs.append(FieldError("required", "spec.names.kind"))
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            errs.append(FieldError("notsupported", "spec.scope", spec.get("scope", ""),
                                   'supported values: "Cluster", "Namespaced"'))
        if not spec.get("versions"):
            errs.append(FieldError("invalid", "spec.versions", [], "must have exactly one version marked as storage version"))
        if spec.get("group") and names.get("plural") and name != "%s.%s" % (names["plural"], spec["group"]):
            errs.append(FieldError("invalid", "metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
        if errs:
            raise invalid(rt, name, errs)

    def _alloc_ip(self, prefix):
        self.ip_counter += 1
        return "%s.%d.%d" % (prefix, (self.ip_counter // 250) % 250, self.ip_counter % 250 + 2)

    def _builtin_defaults(self, rt, obj, old, hook=False):
        if rt.crd is not None:
            return
        kind, spec = rt.kind, obj.get("spec")
        meta = obj["metadata"]
        if kind == "Namespace" and rt.group == "":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            if not hook:
                obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
                obj.setdefault("status", {}).setdefault("phase", "Active")
        elif kind == "Secret" and rt.group == "":
            obj.setdefault("type", "Opaque")
            sd = obj.pop("stringData", None)
            if sd:
                data = obj.setdefault("data", {})
                for k, v in sd.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
        elif kind == "Deployment" and isinstance(spec, dict):
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        elif kind in ("StatefulSet", "ReplicaSet") and isinstance(spec, dict):
            spec.setdefault("replicas", 1)
        elif kind == "Service" and rt.group == "" and isinstance(spec, dict):
            spec.setdefault("type", "ClusterIP")
            if spec["type"] != "ExternalName":
                if old is not None and (old.get("spec") or {}).get("clusterIP"):
                    spec.setdefault("clusterIP", old["spec"]["clusterIP"])
                if not spec.get("clusterIP"):
                    spec["clusterIP"] = self._alloc_ip("10.100")
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
                spec.setdefault("sessionAffinity", "None")
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
            for p in spec.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
                    if "port" in p:
                        p.setdefault("targetPort", p["port"])
        elif kind == "Pod" and rt.group == "" and old is None and "status" not in obj:
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif kind == "CustomResourceDefinition" and not hook:
            names = (spec or {}).get("names") or {}
            if names.get("kind"):
                names.setdefault("listKind", names["kind"] + "List")
                names.setdefault("singular", names["kind"].lower())
            storage = [v["name"] for v in (spec or {}).get("versions") or [] if v.get("storage")]
            if old is not None and isinstance(old.get("status"), dict):
                st = deep(old["status"])  # keep the conditions (and their times) of the CRD
                st["acceptedNames"] = deep(names)
                st["storedVersions"] = list(dict.fromkeys((st.get("storedVersions") or []) + storage))
                obj["status"] = st
                return
            ts = now_iso()
            obj["status"] = {"acceptedNames": deep(names), "storedVersions": storage,
                             "conditions": [
                                 {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                                  "message": "no conflicts found", "lastTransitionTime": ts},
                                 {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                                  "message": "the initial names have been accepted", "lastTransitionTime": ts}]}

    # -- CRDs -------------------------------------------------------------------------------

    def _register_crd(self, crd):
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        group = spec.get("group")
        if not group or not names.get("plural") or not names.get("kind"):
            return
        types = []
        versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
        storage = next((v["name"] for v in spec.get("versions") or [] if v.get("storage")),
                       versions[0]["name"] if versions else None)
        for v in sorted(versions, key=lambda v: v["name"] != storage):
            subs = v.get("subresources") or {}
            rt = ResourceType(group, v["name"], names["plural"], names.get("singular") or names["kind"].lower(),
                              names["kind"], spec.get("scope", "Namespaced") == "Namespaced",
                              names.get("shortNames") or [], names.get("categories") or [],
                              [s for s in ("status", "scale") if s in subs], crd=crd["metadata"]["name"],
                              schema=((v.get("schema") or {}).get("openAPIV3Schema") or {"type": "object",
                                      "x-kubernetes-preserve-unknown-fields": True}),
                              printer_columns=v.get("additionalPrinterColumns") or [],
                              scale=subs.get("scale"))
            types.append(rt)
        self.crd_types[crd["metadata"]["name"]] = types
        self._index_types()

    def _unregister_crd(self, crd):
        types = self.crd_types.pop(crd["metadata"]["name"], [])
        self._index_types()
        if types:
            bucket = self.objects.get(types[0].store_key, {})
            for o in list(bucket.values()):
                self._remove(types[0], o)
            self.objects.pop(types[0].store_key, None)

    # -- the controllers that are not there -------------------------------------------------

    def _react(self, rt, obj, old):
        kind, group = rt.kind, rt.group
        auto = bool(self.config.get("autoReadyDeployments", True))
        if obj["metadata"].get("deletionTimestamp"):
            if group == MODEL_GROUP and kind in MODEL_KINDS:
                self._model_reconcile(rt, obj)
            return
        if group == "" and kind == "Namespace" and old is None:
            sa = self.type_for("", "v1", "ServiceAccount")
            if self._get(sa, obj["metadata"]["name"], "default") is None:
                self._create_internal(sa, {"apiVersion": "v1", "kind": "ServiceAccount",
                                           "metadata": {"name": "default", "namespace": obj["metadata"]["name"]}})
        elif group == MODEL_GROUP and kind in MODEL_KINDS:
            self._model_reconcile(rt, obj)
        elif not auto:
            return
        elif group == "apps" and kind == "Deployment":
            self.reconcile_deployment(obj)
        elif group == "apps" and kind == "DaemonSet":
            self._reconcile_daemonset(obj)
        elif group == "apps" and kind == "StatefulSet":
            self._reconcile_statefulset(obj)
        elif group == "batch" and kind == "Job":
            self._reconcile_job(obj)
        elif group == "" and kind == "Pod" and old is None and not obj["metadata"].get("ownerReferences"):
            self._write_status(rt, obj, self._running_pod_status(obj.get("spec") or {}))
        elif group == "" and kind == "PersistentVolumeClaim" and (obj.get("status") or {}).get("phase") != "Bound":
            st = deep(obj.get("status") or {})
            st.update({"phase": "Bound", "accessModes": (obj.get("spec") or {}).get("accessModes", []),
                       "capacity": ((obj.get("spec") or {}).get("resources") or {}).get("requests", {})})
            self._write_status(rt, obj, st)
        elif group == "" and kind == "Service" and (obj.get("spec") or {}).get("type") == "LoadBalancer" \
                and not ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            host = "k8s-%s-%s-%s.elb.us-west-2.amazonaws.com" % (
                obj["metadata"].get("namespace", "")[:8], obj["metadata"]["name"][:8], stable_hash(obj["metadata"]["uid"], 10))
            self._write_status(rt, obj, {"loadBalancer": {"ingress": [{"hostname": host}]}})

    def _nodes(self):
        return sorted(self.objects.get(("", "nodes"), {}).values(), key=lambda n: n["metadata"]["name"])

    def _pick_node(self):
        nodes = self._nodes()
        if not nodes:
            return "ip-192-168-12-34.us-west-2.compute.internal"
        self.node_rr += 1
        return nodes[self.node_rr % len(nodes)]["metadata"]["name"]

    def _running_pod_status(self, spec):
        ts = now_iso()
        conds = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": ts}
                 for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]

        def cstatus(c, init):
            st = {"name": c.get("name"), "image": c.get("image", ""), "imageID": "",
                  "containerID": "containerd://" + stable_hash([c.get("name"), ts, random.random()], 32),
                  "restartCount": 0}
            if init:
                st.update(ready=True, started=False, state={"terminated": {
                    "exitCode": 0, "reason": "Completed", "startedAt": ts, "finishedAt": ts}})
            else:
                st.update(ready=True, started=True, state={"running": {"startedAt": ts}})
            return st
        ip = self._alloc_ip("192.168")
        status = {"phase": "Running", "conditions": conds, "hostIP": "192.168.1.10",
                  "hostIPs": [{"ip": "192.168.1.10"}], "podIP": ip, "podIPs": [{"ip": ip}],
                  "startTime": ts, "qosClass": "BestEffort",
                  "containerStatuses": [cstatus(c, False) for c in spec.get("containers") or []]}
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [cstatus(c, True) for c in spec["initContainers"]]
        return status

    def _owner_ref(self, owner):
        return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

    def _owned(self, rt, ns, uid):
        return [o for (ons, _), o in sorted(self._bucket(rt).items())
                if ons == ns and any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])]

    def _make_pod(self, ns, name, template, owner, extra_labels=None, status=None):
        pods = self.type_for("", "v1", "Pod")
        tmeta = template.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        labels.update(extra_labels or {})
        spec = deep(template.get("spec") or {})
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
        spec["nodeName"] = self._pick_node()
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": ns, "labels": labels,
                            "ownerReferences": [self._owner_ref(owner)]},
               "spec": spec, "status": status or self._running_pod_status(spec)}
        if tmeta.get("annotations"):
            pod["metadata"]["annotations"] = dict(tmeta["annotations"])
        return self._create_internal(pods, pod, react=False)

    def _sync_pods(self, owner, template, replicas, name_fn, extra_labels=None):
        """Makes `owner` own exactly `replicas` running pods built from `template`."""
        pods_rt = self.type_for("", "v1", "Pod")
        ns = owner["metadata"]["namespace"]
        pods = self._owned(pods_rt, ns, owner["metadata"]["uid"])
        for p in pods[replicas:]:
            self._remove(pods_rt, p)
        for i in range(len(pods), replicas):
            name = name_fn(i)
            while self._get(pods_rt, ns, name) is not None:
                name = name_fn(i)
            self._make_pod(ns, name, template, owner, extra_labels)

    def reconcile_deployment(self, dep):
        """Plays the deployment controller + kubelet: a ReplicaSet for the current template and
        one Running, Ready pod per replica; then a fully available status (what kubectl rollout
        status / wait and helm --wait check)."""
        if dep["metadata"].get("deletionTimestamp"):
            return
        rs_rt = self.type_for("apps", "v1", "ReplicaSet")
        dep_rt = self.type_for("apps", "v1", "Deployment")
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        spec = dep.get("spec") or {}
        replicas = spec.get("replicas", 1)
        template = deep(spec.get("template") or {})
        h = stable_hash(template)
        rs_name = "%s-%s" % (name, h)
        for old_rs in self._owned(rs_rt, ns, dep["metadata"]["uid"]):
            if old_rs["metadata"]["name"] != rs_name:
                self._remove(rs_rt, old_rs)
        rs = self._get(rs_rt, ns, rs_name)
        rs_template = deep(template)
        rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
        selector = deep(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = h
        rs_spec = {"replicas": replicas, "selector": selector, "template": rs_template}
        if rs is None:
            rs = self._create_internal(rs_rt, {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": ns,
                             "labels": dict(rs_template["metadata"]["labels"]),
                             "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                             "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                                             "deployment.kubernetes.io/revision": "1"},
                             "ownerReferences": [self._owner_ref(dep)]},
                "spec": rs_spec}, react=False)
        elif rs.get("spec") != rs_spec:
            new = deep(rs)
            new["spec"] = rs_spec
            rs = self._commit(rs_rt, new, rs, react=False)
        self._sync_pods(rs, rs_template, replicas, lambda i: "%s-%s" % (rs_name, rand_suffix()))
        rs_status = {"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                     "availableReplicas": replicas, "observedGeneration": rs["metadata"].get("generation", 1)}
        if replicas == 0:
            rs_status = {"replicas": 0, "observedGeneration": rs["metadata"].get("generation", 1)}
        if rs.get("status") != rs_status:
            self._write_status(rs_rt, rs, rs_status)
        gen = dep["metadata"].get("generation", 1)
        st = dep.get("status") or {}
        if (st.get("observedGeneration") == gen and st.get("replicas", 0) == replicas
                and st.get("readyReplicas", 0) == replicas and is_ready_condition(dep, "Available")):
            return
        ts = now_iso()
        status = {"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
                  "readyReplicas": replicas, "availableReplicas": replicas,
                  "conditions": [
                      {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                       "message": "Deployment has minimum availability.", "lastUpdateTime": ts,
                       "lastTransitionTime": ts},
                      {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                       "message": 'ReplicaSet "%s" has successfully progressed.' % rs_name,
                       "lastUpdateTime": ts, "lastTransitionTime": ts}]}
        if replicas == 0:
            for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
                del status[k]
        self._write_status(dep_rt, dep, status)

    def _reconcile_daemonset(self, ds):
        rt = self.type_for("apps", "v1", "DaemonSet")
        n = max(1, len(self._nodes()))
        name = ds["metadata"]["name"]
        self._sync_pods(ds, (ds.get("spec") or {}).get("template") or {}, n,
                        lambda i: "%s-%s" % (name, rand_suffix()))
        gen = ds["metadata"].get("generation", 1)
        status = {"currentNumberScheduled": n, "desiredNumberScheduled": n, "numberAvailable": n,
                  "numberMisscheduled": 0, "numberReady": n, "observedGeneration": gen,
                  "updatedNumberScheduled": n}
        if ds.get("status") != status:
            self._write_status(rt, ds, status)

    def _reconcile_statefulset(self, sts):
        rt = self.type_for("apps", "v1", "StatefulSet")
        spec = sts.get("spec") or {}
        n = spec.get("replicas", 1)
        name = sts["metadata"]["name"]
        self._sync_pods(sts, spec.get("template") or {}, n, lambda i: "%s-%d" % (name, i))
        rev = "%s-%s" % (name, stable_hash(spec.get("template") or {}))
        gen = sts["metadata"].get("generation", 1)
        status = {"observedGeneration": gen, "replicas": n, "readyReplicas": n, "currentReplicas": n,
                  "updatedReplicas": n, "availableReplicas": n, "currentRevision": rev,
                  "updateRevision": rev, "collisionCount": 0}
        if sts.get("status") != status:
            self._write_status(rt, sts, status)

    def _reconcile_job(self, job):
        rt = self.type_for("batch", "v1", "Job")
        if (job.get("status") or {}).get("completionTime"):
            return
        spec = job.get("spec") or {}
        n = spec.get("completions", 1) or 1
        name = job["metadata"]["name"]
        template = spec.get("template") or {}
        for i in range(n):
            pod_spec = template.get("spec") or {}
            st = self._running_pod_status(pod_spec)
            st["phase"] = "Succeeded"
            for c in st["conditions"]:
                if c["type"] in ("Ready", "ContainersReady"):
                    c["status"], c["reason"] = "False", "PodCompleted"
            for cs in st["containerStatuses"]:
                cs.update(ready=False, started=False,
                          state={"terminated": {"exitCode": 0, "reason": "Completed",
                                                "startedAt": st["startTime"], "finishedAt": st["startTime"]}})
            self._make_pod(job["metadata"]["namespace"], "%s-%s" % (name, rand_suffix()), template, job,
                           {"job-name": name, "batch.kubernetes.io/job-name": name}, status=st)
        ts = now_iso()
        self._write_status(rt, job, {
            "startTime": ts, "completionTime": ts, "succeeded": n, "ready": 0, "terminating": 0,
            "uncountedTerminatedPods": {},
            "conditions": [{"type": t, "status": "True", "reason": "CompletionsReached",
                            "message": "Reached expected number of succeeded pods",
                            "lastProbeTime": ts, "lastTransitionTime": ts}
                           for t in ("SuccessCriteriaMet", "Complete")]})

    # -- the HyperPod inference operator ----------------------------------------------------

    def _model_status(self, obj, state, reason, message, extra=None):
        ts = now_iso()
        st = deep(obj.get("status") or {})
        gen = obj["metadata"].get("generation", 1)
        st["state"] = state
        st["observedGeneration"] = gen
        ds = st.get("deploymentStatus") or {}
        ds.update({"name": obj["metadata"]["name"], "deploymentObjectOverallState": state,
                   "lastUpdated": ts, "reason": reason, "message": message})
        st["deploymentStatus"] = ds
        conds = [c for c in st.get("conditions") or [] if c.get("type") != state]
        for c in conds:
            c["status"] = "False"
        conds.append({"type": state, "status": "True", "reason": reason, "message": message,
                      "lastTransitionTime": ts, "observedGeneration": gen})
        st["conditions"] = conds
        st.update(extra or {})
        return st

    def _model_reconcile(self, rt, obj):
        mode = self.config.get("modelOperator", "off")
        if mode not in ("complete", "fail"):
            return
        meta = obj["metadata"]
        st = obj.get("status") or {}
        state = (st.get("deploymentStatus") or {}).get("deploymentObjectOverallState")
        if meta.get("deletionTimestamp"):
            if MODEL_FINALIZER not in (meta.get("finalizers") or []) or state == "DeletionInProgress":
                return
            self._write_status(rt, obj, self._model_status(obj, "DeletionInProgress", "DeletionInProgress",
                                                           "Deleting the model deployment"))
            self._schedule(self._model_finish_delete, rt, obj)
            return
        if st.get("observedGeneration") == meta.get("generation", 1) and state:
            return  # this generation is being or has been handled
        new = deep(obj)
        fins = new["metadata"].setdefault("finalizers", [])
        if MODEL_FINALIZER not in fins:
            fins.append(MODEL_FINALIZER)
        new["status"] = self._model_status(obj, "DeploymentInProgress", "DeploymentInProgress",
                                           "Model deployment in progress")
        obj = self._commit(rt, new, obj, react=False)
        self._schedule(self._model_finish, rt, obj)

    def _schedule(self, fn, rt, obj):
        epoch = self.epoch
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"], obj["metadata"]["uid"],
               obj["metadata"].get("generation", 1))

        def run():
            with self.lock:
                if self.epoch != epoch:
                    return
                cur = self._get(rt, key[0], key[1])
                if cur is None or cur["metadata"]["uid"] != key[2]:
                    return
                try:
                    fn(rt, cur, key[3])
                except Exception:
                    traceback.print_exc()
        t = threading.Timer(float(self.config.get("modelDelaySeconds", 1.0)), run)
        t.daemon = True
        self.timers = [x for x in self.timers if x.is_alive()] + [t]
        t.start()

    def _model_finish(self, rt, obj, gen):
        mode = self.config.get("modelOperator", "off")
        if obj["metadata"].get("deletionTimestamp") or obj["metadata"].get("generation", 1) != gen \
                or mode not in ("complete", "fail"):
            return
        name, ns = obj["metadata"]["name"], obj["metadata"].get("namespace", "default")
        spec = obj.get("spec") or {}
        if mode == "fail":
            self._write_status(rt, obj, self._model_status(
                obj, "DeploymentFailed", self.config.get("modelFailReason", "ModelDeploymentFailed"),
                self.config.get("modelFailMessage", "Model deployment failed")))
            return
        replicas = spec.get("replicas", 1) if isinstance(spec.get("replicas"), int) else 1
        image = (spec.get("worker") or {}).get("image") or \
            "763104351884.dkr.ecr.us-west-2.amazonaws.com/huggingface-pytorch-inference:latest"
        dep_rt = self.type_for("apps", "v1", "Deployment")
        if self._get(dep_rt, ns, name) is None:
            dep = self._create_internal(dep_rt, {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name},
                             "ownerReferences": [self._owner_ref(obj)]},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": "inference-server", "image": image}]}}}},
                react=False)
            self.reconcile_deployment(dep)
        endpoint = get_path(obj, MODEL_KINDS.get(obj["kind"], "spec.endpointName"))
        extra = {"replicas": replicas, "selector": "app=%s" % name}
        ds_extra = {"availableReplicas": replicas, "readyReplicas": replicas, "replicas": replicas,
                    "updatedReplicas": replicas, "observedGeneration": 1}
        if endpoint:
            arn = "arn:aws:sagemaker:us-west-2:123456789012"
            extra["endpoints"] = {"sagemaker": {"state": "CreationCompleted",
                                                "endpointArn": "%s:endpoint/%s" % (arn, endpoint),
                                                "configArn": "%s:endpoint-config/%s" % (arn, endpoint),
                                                "modelArn": "%s:model/%s" % (arn, endpoint)}}
        st = self._model_status(obj, "DeploymentComplete", "DeploymentComplete",
                                "Deployment completed successfully", extra)
        st["deploymentStatus"]["status"] = ds_extra
        self._write_status(rt, obj, st)

    def _model_finish_delete(self, rt, obj, gen):
        if not obj["metadata"].get("deletionTimestamp"):
            return
        new = deep(obj)
        fins = [f for f in new["metadata"].get("finalizers") or [] if f != MODEL_FINALIZER]
        new["metadata"]["finalizers"] = fins
        if not fins:
            del new["metadata"]["finalizers"]
            self._remove(rt, new)
        else:
            self._commit(rt, new, obj, react=False)

    def reconcile_models(self):
        """After a config change: let the operator look at every model resource once."""
        with self.lock:
            for ts in list(self.crd_types.values()):
                if ts and ts[0].group == MODEL_GROUP and ts[0].kind in MODEL_KINDS:
                    for o in list(self._bucket(ts[0]).values()):
                        self._model_reconcile(ts[0], o)


# ----------------------------------------------------------------------------------------------
# Discovery and OpenAPI v3
# ----------------------------------------------------------------------------------------------

def version_priority(v):
    """Kubernetes version ordering: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > other."""
    m = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", v)
    if not m:
        return (0, 0, 0, v)
    stage = {"alpha": 1, "beta": 2, None: 3}[m.group(2)]
    return (stage, int(m.group(1)), int(m.group(3) or 0), "")


def discovery_groups(cluster):
    """[(group, [versions, preferred first])] in the order /apis lists them."""
    out = {}
    for rt in cluster.all_types():
        if rt.group:
            vs = out.setdefault(rt.group, [])
            if rt.version not in vs:
                vs.append(rt.version)
    order = [g for g in BUILTIN_GROUP_ORDER if g in out] + sorted(g for g in out if g not in BUILTIN_GROUP_ORDER)
    res = []
    for g in order:
        vs = out[g]
        if g not in BUILTIN_GROUP_ORDER:
            vs = sorted(vs, key=version_priority, reverse=True)
        res.append((g, vs))
    return res


def api_group_doc(group, versions):
    gvs = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def resource_list_doc(cluster, group, version):
    types = [rt for rt in cluster.all_types() if rt.group == group and rt.version == version]
    if not types:
        return None
    resources = []
    for rt in types:
        r = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
             "kind": rt.kind, "verbs": rt.verbs}
        if rt.short_names:
            r["shortNames"] = rt.short_names
        if rt.categories:
            r["categories"] = rt.categories
        if rt.verbs != ["create"]:
            r["storageVersionHash"] = base64.b64encode(
                hashlib.sha256(("%s/%s" % (rt.group, rt.plural)).encode()).digest()[:8]).decode()
        resources.append(r)
        for sub in sorted(rt.subresources):
            s = {"name": "%s/%s" % (rt.plural, sub), "singularName": "", "namespaced": rt.namespaced,
                 "kind": rt.kind, "verbs": ["get", "patch", "update"]}
            if sub == "scale":
                s.update(group="autoscaling", version="v1", kind="Scale")
            elif sub in ("log", "proxy"):
                s["verbs"] = ["get"]
                if sub == "log":
                    s["kind"] = "Pod"
            elif sub in ("exec", "eviction", "binding", "token"):
                s["verbs"] = ["create", "get"] if sub == "exec" else ["create"]
                if sub == "eviction":
                    s.update(group="policy", version="v1", kind="Eviction")
                elif sub == "token":
                    s.update(group="authentication.k8s.io", version="v1", kind="TokenRequest")
                elif sub == "binding":
                    s["kind"] = "Binding"
            elif sub == "finalize":
                s["verbs"] = ["update"]
            resources.append(s)
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": version if not group else "%s/%s" % (group, version), "resources": resources}


AGG_DISCOVERY_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def aggregated_discovery(cluster, core):
    """apidiscovery.k8s.io/v2 APIGroupDiscoveryList: the whole of /api or /apis in one
    answer (kubectl and helm then skip the per-group-version requests)."""
    groups = [("", ["v1"])] if core else discovery_groups(cluster)
    items = []
    for g, versions in groups:
        vs = []
        for v in versions:
            doc = resource_list_doc(cluster, g, v)
            if doc is None:
                continue
            resources, by_name = [], {}
            for r in doc["resources"]:
                if "/" in r["name"]:
                    parent, sub = r["name"].split("/", 1)
                    sr = {"subresource": sub, "verbs": r["verbs"]}
                    if r.get("kind"):
                        sr["responseKind"] = {"group": r.get("group", g), "version": r.get("version", v), "kind": r["kind"]}
                    by_name[parent].setdefault("subresources", []).append(sr)
                    continue
                res = {"resource": r["name"], "responseKind": {"group": g, "version": v, "kind": r["kind"]},
                       "scope": "Namespaced" if r["namespaced"] else "Cluster",
                       "singularResource": r["singularName"], "verbs": r["verbs"]}
                for k in ("shortNames", "categories"):
                    if r.get(k):
                        res[k] = r[k]
                by_name[r["name"]] = res
                resources.append(res)
            vs.append({"version": v, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": g, "creationTimestamp": None}, "versions": vs})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


def _component_name(rt):
    if rt.crd is None:
        g = rt.group.replace(".k8s.io", "") if rt.group else "core"
        base = ("io.k8s.api.%s" % g) if rt.group != "apiextensions.k8s.io" else \
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions"
        if rt.group == "apiregistration.k8s.io":
            base = "io.k8s.kube-aggregator.pkg.apis.apiregistration"
        return "%s.%s.%s" % (base, rt.version, rt.kind)
    return "%s.%s.%s" % (".".join(reversed(rt.group.split("."))), rt.version, rt.kind)


_QUERY_PARAMS = [
    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True},
     "description": "When present, indicates that modifications should not be persisted."},
    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True},
     "description": "Ignore, Warn or Strict: how the server handles unknown or duplicate fields."},
]


def openapi_doc(cluster, prefix, group, version):
    """One OpenAPI v3 document per group-version. kubectl needs, per kind, a PATCH operation
    carrying x-kubernetes-group-version-kind and a fieldValidation query parameter (then it
    validates server-side). We deliberately do not advertise strategic-merge-patch bodies: with
    them, kubectl apply would compute its patch from these (minimal) schemas; without them it
    uses its compiled-in types for built-ins and JSON merge patch for custom resources, exactly
    as against a real server."""
    types = [rt for rt in cluster.all_types() if rt.group == group and rt.version == version]
    paths, schemas = {}, {
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
            "type": "object", "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."},
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status": {"type": "object", "description": "Status is a return value for calls that don't return other objects."},
    }
    base = "/api/v1" if not group else "/apis/%s/%s" % (group, version)
    for rt in types:
        comp = _component_name(rt)
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        if rt.schema is not None:
            schema = dict(rt.schema)
        else:
            schema = {"type": "object", "description": "%s (schema not published by the emulator)" % rt.kind,
                      "x-kubernetes-preserve-unknown-fields": True}
        schema["x-kubernetes-group-version-kind"] = [gvk]
        schemas[comp] = schema
        ref = {"$ref": "#/components/schemas/" + comp}
        coll = base + ("/namespaces/{namespace}" if rt.namespaced else "") + "/" + rt.plural
        ok = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
        op_suffix = "%s%s%s" % (rt.group.split(".")[0].capitalize(), rt.version.capitalize(), rt.kind)
        paths[coll] = {"post": {"operationId": "create" + op_suffix, "x-kubernetes-action": "post",
                                "x-kubernetes-group-version-kind": gvk, "parameters": _QUERY_PARAMS,
                                "requestBody": {"content": {"*/*": {"schema": ref}}, "required": True},
                                "responses": ok}}
        if rt.verbs == ["create"]:
            continue
        paths[coll]["get"] = {"operationId": "list" + op_suffix, "x-kubernetes-action": "list",
                              "x-kubernetes-group-version-kind": gvk, "responses": ok}
        patch_body = {"content": {ct: {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
                                  for ct in ("application/json-patch+json", "application/merge-patch+json",
                                             "application/apply-patch+yaml")}, "required": True}
        paths[coll + "/{name}"] = {
            "get": {"operationId": "read" + op_suffix, "x-kubernetes-action": "get",
                    "x-kubernetes-group-version-kind": gvk, "responses": ok},
            "put": {"operationId": "replace" + op_suffix, "x-kubernetes-action": "put",
                    "x-kubernetes-group-version-kind": gvk, "parameters": _QUERY_PARAMS,
                    "requestBody": {"content": {"*/*": {"schema": ref}}, "required": True}, "responses": ok},
            "delete": {"operationId": "delete" + op_suffix, "x-kubernetes-action": "delete",
                       "x-kubernetes-group-version-kind": gvk, "responses": ok},
            "patch": {"operationId": "patch" + op_suffix, "x-kubernetes-action": "patch",
                      "x-kubernetes-group-version-kind": gvk,
                      "parameters": _QUERY_PARAMS + [{"name": "force", "in": "query",
                                                      "schema": {"type": "boolean", "uniqueItems": True}}],
                      "requestBody": patch_body, "responses": ok},
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string", "uniqueItems": True}}],
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": cluster.config["serverVersion"]},
            "paths": paths, "components": {"schemas": schemas}}


def openapi_docs(cluster, prefix):
    """{"api/v1": (json bytes, hash), ...}, cached until the set of types changes."""
    with cluster.lock:
        cache = cluster.openapi_cache
        if "docs" not in cache:
            docs = {}
            gvs = [("", "v1")] + [(g, v) for g, vs in discovery_groups(cluster) for v in vs]
            for g, v in gvs:
                key = "api/v1" if not g else "apis/%s/%s" % (g, v)
                data = dumps(openapi_doc(cluster, prefix, g, v)).encode()
                docs[key] = (data, hashlib.sha512(data).hexdigest().upper())
            cache["docs"] = docs
        return cache["docs"]


# ----------------------------------------------------------------------------------------------
# Server-side printing (kubectl get asks for meta.k8s.io Table)
# ----------------------------------------------------------------------------------------------

def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < 0:
        return "0s"
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    y = h // (24 * 365)
    if y < 8:
        return "%dy%dd" % (y, (h // 24) % 365)
    return "%dy" % y


def age(ts):
    if not ts:
        return "<unknown>"
    try:
        t = datetime.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())


def pod_status_reason(pod):
    """What kubectl prints in the STATUS column (simplified printPod of kubernetes/pkg/printers)."""
    st = pod.get("status") or {}
    reason = st.get("reason") or st.get("phase") or "Pending"
    inits = st.get("initContainerStatuses") or []
    initializing = False
    n_init = len((pod.get("spec") or {}).get("initContainers") or [])
    for i, cs in enumerate(inits):
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode", 0) == 0:
            continue
        if term:
            reason = "Init:" + (term.get("reason") or ("ExitCode:%d" % term.get("exitCode", 0)))
        elif wait and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + wait["reason"]
        else:
            reason = "Init:%d/%d" % (i, n_init)
        initializing = True
        break
    if not initializing:
        has_running = False
        for cs in reversed(st.get("containerStatuses") or []):
            state = cs.get("state") or {}
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated"):
                t = state["terminated"]
                reason = t.get("reason") or ("Signal:%d" % t["signal"] if t.get("signal") else "ExitCode:%d" % t.get("exitCode", 0))
            elif state.get("running") and cs.get("ready"):
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def table_for(rt, objs, include_object, rv):
    def col(name, typ="string", priority=0, fmt=""):
        return {"name": name, "type": typ, "format": fmt, "description": name, "priority": priority}
    kind = rt.kind if rt.crd is None else None
    cols = [col("Name", fmt="name")]
    rows = []
    for o in objs:
        meta = o.get("metadata") or {}
        st, spec = o.get("status") or {}, o.get("spec") or {}
        cells = [meta.get("name", "")]
        if kind == "Pod":
            cs = st.get("containerStatuses") or []
            n = len(spec.get("containers") or []) or len(cs)
            cells += ["%d/%d" % (sum(1 for c in cs if c.get("ready")), n), pod_status_reason(o),
                      sum(c.get("restartCount", 0) for c in cs), age(meta.get("creationTimestamp")),
                      st.get("podIP") or "<none>", spec.get("nodeName") or "<none>", "<none>", "<none>"]
        elif kind == "Deployment":
            cs = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
            cells += ["%d/%d" % (st.get("readyReplicas", 0), spec.get("replicas", 1)), st.get("updatedReplicas", 0),
                      st.get("availableReplicas", 0), age(meta.get("creationTimestamp")),
                      ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs),
                      selector_from_label_selector(spec.get("selector"))]
        elif kind in ("ReplicaSet", "StatefulSet"):
            cells += [spec.get("replicas", 1), st.get("replicas", 0), st.get("readyReplicas", 0),
                      age(meta.get("creationTimestamp"))] if kind == "ReplicaSet" else \
                     ["%d/%d" % (st.get("readyReplicas", 0), spec.get("replicas", 1)), age(meta.get("creationTimestamp"))]
        elif kind == "DaemonSet":
            cells += [st.get("desiredNumberScheduled", 0), st.get("currentNumberScheduled", 0), st.get("numberReady", 0),
                      st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0),
                      ",".join("%s=%s" % kv for kv in sorted((((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}).items())) or "<none>",
                      age(meta.get("creationTimestamp"))]
        elif kind == "Namespace":
            cells += [st.get("phase", "Active"), age(meta.get("creationTimestamp"))]
        elif kind == "Node":
            ready = "Ready" if is_ready_condition(o, "Ready") or not st.get("conditions") else "NotReady"
            if spec.get("unschedulable"):
                ready += ",SchedulingDisabled"
            roles = sorted(k.split("/", 1)[1] for k in (meta.get("labels") or {})
                           if k.startswith("node-role.kubernetes.io/")) or ["<none>"]
            addrs = {a.get("type"): a.get("address") for a in st.get("addresses") or []}
            cells += [ready, ",".join(roles), age(meta.get("creationTimestamp")),
                      (st.get("nodeInfo") or {}).get("kubeletVersion", "v1.33.5-eks-3025e55"),
                      addrs.get("InternalIP", "<none>"), addrs.get("ExternalIP", "<none>")]
        elif kind == "Service":
            ports = ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP")) if not p.get("nodePort")
                             else "%s:%s/%s" % (p.get("port"), p.get("nodePort"), p.get("protocol", "TCP"))
                             for p in spec.get("ports") or []) or "<none>"
            ing = ((st.get("loadBalancer") or {}).get("ingress") or [])
            ext = ",".join(i.get("hostname") or i.get("ip", "") for i in ing) or (
                "<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
            cells += [spec.get("type", "ClusterIP"), spec.get("clusterIP", "<none>"), ext, ports,
                      age(meta.get("creationTimestamp")),
                      ",".join("%s=%s" % kv for kv in sorted((spec.get("selector") or {}).items())) or "<none>"]
        elif kind == "Event":
            inv = o.get("involvedObject") or o.get("regarding") or {}
            last = o.get("lastTimestamp") or o.get("eventTime") or meta.get("creationTimestamp")
            cells = [age(last), o.get("type", ""), o.get("reason", ""),
                     "%s/%s" % ((inv.get("kind") or "").lower(), inv.get("name", "")), o.get("message", "") or o.get("note", "")]
        elif kind == "ServiceAccount":
            cells += [len(o.get("secrets") or []), age(meta.get("creationTimestamp"))]
        elif kind == "ConfigMap":
            cells += [len(o.get("data") or {}) + len(o.get("binaryData") or {}), age(meta.get("creationTimestamp"))]
        elif kind == "Secret":
            cells += [o.get("type", "Opaque"), len(o.get("data") or {}), age(meta.get("creationTimestamp"))]
        elif kind == "CustomResourceDefinition":
            cells += [meta.get("creationTimestamp", "")]
        elif rt.printer_columns:
            for pc in rt.printer_columns:
                v = get_path(o, pc.get("jsonPath", "").lstrip("."))
                if pc.get("type") == "date":
                    v = age(v) if v else "<unknown>"
                cells.append("<none>" if v is None else v if isinstance(v, (int, float, str)) else dumps(v))
        else:
            cells += [age(meta.get("creationTimestamp"))]
        row = {"cells": cells}
        if include_object == "Object":
            row["object"] = o
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
        rows.append(row)
    if kind == "Pod":
        cols += [col("Ready"), col("Status"), col("Restarts", "string"), col("Age"), col("IP", priority=1),
                 col("Node", priority=1), col("Nominated Node", priority=1), col("Readiness Gates", priority=1)]
    elif kind == "Deployment":
        cols += [col("Ready"), col("Up-to-date", "integer"), col("Available", "integer"), col("Age"),
                 col("Containers", priority=1), col("Images", priority=1), col("Selector", priority=1)]
    elif kind == "ReplicaSet":
        cols += [col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"), col("Age")]
    elif kind == "StatefulSet":
        cols += [col("Ready"), col("Age")]
    elif kind == "DaemonSet":
        cols += [col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"),
                 col("Up-to-date", "integer"), col("Available", "integer"), col("Node Selector"), col("Age")]
    elif kind == "Namespace":
        cols += [col("Status"), col("Age")]
    elif kind == "Node":
        cols += [col("Status"), col("Roles"), col("Age"), col("Version"), col("Internal-IP", priority=1),
                 col("External-IP", priority=1)]
    elif kind == "Service":
        cols += [col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"), col("Age"),
                 col("Selector", priority=1)]
    elif kind == "Event":
        cols = [col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Message")]
    elif kind == "ServiceAccount":
        cols += [col("Secrets", "integer"), col("Age")]
    elif kind == "ConfigMap":
        cols += [col("Data", "integer"), col("Age")]
    elif kind == "Secret":
        cols += [col("Type"), col("Data", "integer"), col("Age")]
    elif kind == "CustomResourceDefinition":
        cols += [col("Created At", "date")]
    elif rt.printer_columns:
        cols += [col(pc.get("name", ""), pc.get("type", "string"), pc.get("priority", 0)) for pc in rt.printer_columns]
    else:
        cols += [col("Age")]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
            "columnDefinitions": cols, "rows": rows}


# ----------------------------------------------------------------------------------------------
# HTTP
# ----------------------------------------------------------------------------------------------

CLUSTER_RE = re.compile(r"^/clusters/([a-zA-Z0-9_.-]+)(/.*)?$")
CONFIG_KEYS = {"autoReadyDeployments": bool, "modelOperator": str, "modelDelaySeconds": (int, float),
               "modelFailReason": str, "modelFailMessage": str, "serverVersion": str}


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, ssl_ctx):
        super().__init__(addr, handler)
        self.ssl_ctx = ssl_ctx
        self.clusters = {}
        self.clusters_lock = threading.Lock()

    def cluster(self, cid):
        with self.clusters_lock:
            c = self.clusters.get(cid)
            if c is None:
                c = self.clusters[cid] = Cluster(cid)
            return c

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so that a slow or broken
        # client never blocks accept() in the main thread.
        try:
            request.settimeout(30)
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            log("TLS handshake failed from %s: %s" % (client_address, e))
            try:
                request.close()
            except OSError:
                pass
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if VERBOSE:
            traceback.print_exc()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-emulator"
    sys_version = ""

    def log_message(self, fmt, *args):
        log("%s %s" % (self.address_string(), fmt % args))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = lambda self: self.dispatch()

    # -- plumbing ---------------------------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_bytes(self, code, data, ctype="application/json", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in headers or []:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, code, obj, warnings=()):
        headers = [("Warning", '299 - %s' % json.dumps(w)) for w in warnings]
        self.send_bytes(code, dumps(obj).encode(), headers=headers)

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def client_gone(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            return bool(r)  # a client never sends anything while it reads a watch: readable = closed
        except (OSError, ValueError):
            return True

    def parse_body(self, raw):
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if ctype == "application/vnd.kubernetes.protobuf":
            return decode_protobuf_body(raw)
        if not raw.strip():
            return {}
        try:
            if ctype in ("application/yaml", "application/apply-patch+yaml"):
                return yaml.safe_load(raw.decode("utf-8"))
            return json.loads(raw.decode("utf-8"))
        except (ValueError, yaml.YAMLError) as e:
            raise bad_request("couldn't decode the request body: %s" % e)

    # -- dispatch ---------------------------------------------------------------------------

    def dispatch(self):
        try:
            u = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(u.path)
            q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
            m = CLUSTER_RE.match(path)
            prefix, cid, rest = "", "default", path
            if m:
                cid, rest = m.group(1), m.group(2) or "/"
                prefix = "/clusters/" + cid
            raw = self.read_body()
            if rest == "/_emulator" or rest.startswith("/_emulator/"):
                return self.hooks(cid, rest[len("/_emulator"):], q, raw)
            cluster = self.server.cluster(cid)
            self.record(cluster, rest, u.query)
            return self.api(cluster, prefix, rest, q, raw)
        except ApiError as e:
            self.send_json(e.code, e.status())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as e:
            traceback.print_exc()
            try:
                self.send_json(500, ApiError(500, "InternalError", "emulator error: %s" % e).status())
            except OSError:
                self.close_connection = True

    def record(self, cluster, path, query):
        auth = self.headers.get("Authorization") or ""
        scheme = auth.split(" ", 1)[0] if auth else None
        with cluster.lock:
            cluster.last_auth_scheme = scheme
            if scheme == "Bearer":
                tok = auth.split(" ", 1)[1] if " " in auth else ""
                cluster.last_token_kind = "k8s-aws-v1" if tok.startswith("k8s-aws-v1.") else "other"
            cluster.requests.append({"method": self.command, "path": path, "query": query,
                                     "contentType": self.headers.get("Content-Type"), "auth": scheme})
            if len(cluster.requests) > 20000:
                del cluster.requests[:10000]

    # -- test hooks -------------------------------------------------------------------------

    def hooks(self, cid, sub, q, raw):
        parts = [p for p in sub.split("/") if p]
        method = self.command
        if parts == ["reset-all"] and method == "POST":
            with self.server.clusters_lock:
                old = list(self.server.clusters.values())
                self.server.clusters = {}
            for c in old:
                c.reset()
            return self.send_json(200, {"status": "ok"})
        if parts == ["healthz"]:
            return self.send_bytes(200, b"ok", "text/plain")
        cluster = self.server.cluster(cid)
        if parts == ["reset"] and method == "POST":
            cluster.reset()
            return self.send_json(200, {"status": "ok"})
        if parts == ["config"]:
            if method == "PUT":
                body = json.loads(raw or b"{}")
                for k, v in body.items():
                    if k not in CONFIG_KEYS or not isinstance(v, CONFIG_KEYS[k]):
                        raise bad_request("unknown config key or bad type: %s" % k)
                    if k == "modelOperator" and v not in ("off", "complete", "fail"):
                        raise bad_request('modelOperator must be "off", "complete" or "fail"')
                with cluster.lock:
                    cluster.config.update(body)
                if "modelOperator" in body:
                    cluster.reconcile_models()
                if body.get("autoReadyDeployments") is True:
                    cluster.reconcile_workloads()
            with cluster.lock:
                cfg = dict(cluster.config)
                cfg["lastAuthScheme"] = cluster.last_auth_scheme
                cfg["lastTokenKind"] = cluster.last_token_kind
            return self.send_json(200, cfg)
        if parts == ["requests"]:
            with cluster.lock:
                if method == "DELETE":
                    cluster.requests = []
                return self.send_json(200, {"items": list(cluster.requests)})
        if parts[:1] == ["objects"]:
            if method == "GET" and len(parts) == 1:
                with cluster.lock:
                    items = [o for b in cluster.objects.values() for o in b.values()]
                return self.send_json(200, {"items": items})
            if method == "POST" and len(parts) == 1:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = [d for d in yaml.safe_load_all(raw.decode("utf-8")) if d]
                if isinstance(body, list):
                    items = body
                elif isinstance(body, dict) and "items" in body and (
                        "kind" not in body or str(body.get("kind")).endswith("List")):
                    items = body["items"]
                else:
                    items = [body]
                out = []
                for obj in items:
                    if not isinstance(obj, dict):
                        raise bad_request("objects must be JSON objects")
                    rt = cluster.type_for_api_version(obj.get("apiVersion"), obj.get("kind"))
                    if rt is None:
                        raise bad_request("no resource for apiVersion=%s kind=%s (create its CRD first)"
                                          % (obj.get("apiVersion"), obj.get("kind")))
                    ns = (obj.get("metadata") or {}).get("namespace") or "default"
                    out.append(cluster.create(rt, ns if rt.namespaced else None, obj, {}, hook=True)[0])
                return self.send_json(200, {"items": out})
            if method == "DELETE" and len(parts) >= 5:
                ns, plural, name = parts[-3], parts[-2], parts[-1]
                gv = parts[1:-3]
                g, v = ("", gv[0]) if len(gv) == 1 else ("/".join(gv[:-1]), gv[-1])
                rt = cluster.by_path.get((g, v, plural))
                if rt is None:
                    raise resource_not_found()
                cluster.force_remove(rt, "" if ns == "_" or not rt.namespaced else ns, name)
                return self.send_json(200, {"status": "ok"})
        if parts[:1] == ["logs"] and method == "PUT" and len(parts) in (3, 4):
            container = parts[3] if len(parts) == 4 else ""
            previous = q.get("previous", ["false"])[0] == "true"
            with cluster.lock:
                cluster.logs[(parts[1], parts[2], container, previous)] = raw.decode("utf-8", "replace")
            return self.send_json(200, {"status": "ok"})
        raise ApiError(404, "NotFound", "unknown emulator hook %s %s" % (method, sub))

    # -- the Kubernetes API -----------------------------------------------------------------

    def api(self, cluster, prefix, rest, q, raw):
        parts = [p for p in rest.split("/") if p]
        method = self.command
        if not parts:
            paths = ["/api", "/api/v1", "/apis", "/openapi/v3", "/version", "/healthz", "/readyz", "/livez"]
            return self.send_json(200, {"paths": paths})
        if parts[0] in ("healthz", "readyz", "livez"):
            return self.send_bytes(200, b"ok", "text/plain")
        if parts == ["version"]:
            gv = cluster.config["serverVersion"]
            mm = re.match(r"v(\d+)\.(\d+)", gv)
            return self.send_json(200, {
                "major": mm.group(1), "minor": mm.group(2) + "+", "emulationMajor": mm.group(1),
                "emulationMinor": mm.group(2), "minCompatibilityMajor": mm.group(1),
                "minCompatibilityMinor": str(int(mm.group(2)) - 1), "gitVersion": gv,
                "gitCommit": "3025e55c1bd0f1b5d1c1e6b0e6c1c1a7b1e1f0a1", "gitTreeState": "clean",
                "buildDate": "2025-09-04T12:00:00Z", "goVersion": "go1.24.6", "compiler": "gc",
                "platform": "linux/amd64"})
        if parts[0] == "openapi":
            if parts[1:2] != ["v3"]:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            docs = openapi_docs(cluster, prefix)
            if len(parts) == 2:
                return self.send_json(200, {"paths": {k: {"serverRelativeURL": "%s/openapi/v3/%s?hash=%s" % (prefix, k, h)}
                                                      for k, (_, h) in docs.items()}})
            key = "/".join(parts[2:])
            if key not in docs:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return self.send_bytes(200, docs[key][0], headers=[("Etag", '"%s"' % docs[key][1])])
        if parts in (["api"], ["apis"]) and "as=APIGroupDiscoveryList" in (self.headers.get("Accept") or "") \
                and "v=v2" in self.headers.get("Accept"):
            with cluster.lock:
                doc = aggregated_discovery(cluster, parts == ["api"])
            return self.send_bytes(200, dumps(doc).encode(), AGG_DISCOVERY_CT)
        if parts == ["api"]:
            host = "%s:%d" % self.server.server_address[:2]
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]})
        if parts == ["apis"]:
            with cluster.lock:
                groups = [api_group_doc(g, vs) for g, vs in discovery_groups(cluster)]
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rparts = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            group = parts[1]
            if len(parts) == 2:
                with cluster.lock:
                    vs = dict(discovery_groups(cluster)).get(group)
                if not vs:
                    raise resource_not_found()
                doc = api_group_doc(group, vs)
                doc.update(kind="APIGroup", apiVersion="v1")
                return self.send_json(200, doc)
            version, rparts = parts[2], parts[3:]
        else:
            raise resource_not_found()
        if not rparts:
            with cluster.lock:
                doc = resource_list_doc(cluster, group, version)
            if doc is None:
                raise resource_not_found()
            return self.send_json(200, doc)
        watch = q.get("watch", ["false"])[0] in ("true", "1")
        if rparts[0] == "watch":
            watch, rparts = True, rparts[1:]
        ns = None
        if len(rparts) >= 3 and rparts[0] == "namespaces" and (len(rparts) > 3 or rparts[2] not in ("status", "finalize")):
            ns, rparts = rparts[1], rparts[2:]
        if not rparts or len(rparts) > 3:
            raise resource_not_found()
        plural = rparts[0]
        name = rparts[1] if len(rparts) > 1 else None
        sub = rparts[2] if len(rparts) > 2 else None
        with cluster.lock:
            rt = cluster.by_path.get((group, version, plural))
        if rt is None or (ns is not None and not rt.namespaced) or (sub is not None and sub not in rt.subresources):
            raise resource_not_found()
        if rt.namespaced and ns is None and (name is not None or method not in ("GET", "HEAD")):
            if not (rt.verbs == ["create"]):
                raise resource_not_found()
        return self.verb(cluster, rt, ns, name, sub, method, q, raw, watch)

    def verb(self, cluster, rt, ns, name, sub, method, q, raw, watch):
        if rt.verbs == ["create"] and method != "POST":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method in ("GET", "HEAD"):
            if watch:
                return self.serve_watch(cluster, rt, ns, name, q)
            if name is None:
                items, rv = cluster.list(rt, ns, q.get("labelSelector", [""])[0], q.get("fieldSelector", [""])[0])
                if "as=Table" in (self.headers.get("Accept") or ""):
                    return self.send_json(200, table_for(rt, items, q.get("includeObject", ["Metadata"])[0], rv))
                return self.send_json(200, {"kind": rt.kind + "List", "apiVersion": rt.api_version,
                                            "metadata": {"resourceVersion": rv}, "items": items})
            if sub == "log":
                text = cluster.pod_log(ns, name, q)
                return self.send_bytes(200, text.encode(), "text/plain")
            if sub == "scale":
                return self.send_json(200, cluster.get_scale(rt, ns, name))
            obj = cluster.get(rt, ns, name)
            if "as=Table" in (self.headers.get("Accept") or ""):
                return self.send_json(200, table_for(rt, [obj], q.get("includeObject", ["Metadata"])[0],
                                                     obj["metadata"].get("resourceVersion", "")))
            return self.send_json(200, obj)
        if method == "POST":
            if name is None:
                obj, warnings = cluster.create(rt, ns, self.parse_body(raw), q)
                return self.send_json(201, obj, warnings)
            if rt.kind == "ServiceAccount" and sub == "token":
                cluster.get(rt, ns, name)  # 404 for a missing ServiceAccount
                exp = int(time.time()) + 3600
                b64 = lambda d: base64.urlsafe_b64encode(dumps(d).encode()).decode().rstrip("=")
                token = "%s.%s.%s" % (b64({"alg": "RS256", "kid": "emulator"}),
                                      b64({"sub": "system:serviceaccount:%s:%s" % (ns, name), "exp": exp,
                                           "aud": ["https://kubernetes.default.svc"]}), "c2lnbmF0dXJl")
                return self.send_json(201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                                            "metadata": {"name": name, "namespace": ns,
                                                         "creationTimestamp": None},
                                            "spec": {"audiences": ["https://kubernetes.default.svc"],
                                                     "expirationSeconds": 3600,
                                                     "boundObjectRef": None},
                                            "status": {"token": token, "expirationTimestamp":
                                                       datetime.datetime.fromtimestamp(exp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}})
            if rt.kind == "Pod" and sub == "eviction":
                cluster.delete(rt, ns, name, q, {})
                return self.send_json(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method == "PUT" and name is not None:
            body = self.parse_body(raw)
            if sub == "scale":
                return self.send_json(200, cluster.set_scale(rt, ns, name, body, q))
            obj, warnings = cluster.update(rt, ns, name, body, q, sub)
            return self.send_json(200, obj, warnings)
        if method == "PATCH" and name is not None:
            ptype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if sub == "scale":
                scale = cluster.get_scale(rt, ns, name)
                patch = json.loads(raw or b"{}")
                if ptype == "application/json-patch+json" and jsonpatch is not None:
                    scale = jsonpatch.apply_patch(scale, patch)
                else:
                    scale = merge_patch(scale, patch)
                return self.send_json(200, cluster.set_scale(rt, ns, name, scale, q))
            with cluster.lock:
                existed = cluster._get(rt, ns, name) is not None
            obj, warnings = cluster.patch(rt, ns, name, ptype, raw, q, sub)
            return self.send_json(200 if existed else 201, obj, warnings)
        if method == "DELETE":
            opts = self.parse_body(raw) if raw.strip() else {}
            if name is None:
                items = cluster.delete_collection(rt, ns, q, opts or {})
                return self.send_json(200, {"kind": rt.kind + "List", "apiVersion": rt.api_version,
                                            "metadata": {"resourceVersion": str(cluster.rv)}, "items": items})
            return self.send_json(200, cluster.delete(rt, ns, name, q, opts or {}))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    # -- watch ------------------------------------------------------------------------------

    def serve_watch(self, cluster, rt, ns, name, q):
        """Classic watch (events after resourceVersion) and watch-list (sendInitialEvents: ADDED
        for every current object, a BOOKMARK annotated k8s.io/initial-events-end, then live
        events), as newline-delimited JSON in one chunked response."""
        lreqs = parse_label_selector(q.get("labelSelector", [""])[0])
        freqs = parse_field_selector(q.get("fieldSelector", [""])[0])
        if name:
            freqs.append(("metadata.name", "=", name))
        timeout = float(q.get("timeoutSeconds", ["1800"])[0] or 1800)
        deadline = time.monotonic() + timeout
        send_initial = q.get("sendInitialEvents", ["false"])[0] == "true"
        bookmarks = q.get("allowWatchBookmarks", ["false"])[0] == "true"
        rv_param = q.get("resourceVersion", [""])[0]

        as_table = "as=Table" in (self.headers.get("Accept") or "")
        include = q.get("includeObject", ["Metadata"])[0]

        def conv(o):  # kubectl get -w asks for every event object as a one-row Table
            return table_for(rt, [o], include, o["metadata"].get("resourceVersion", "")) if as_table else o

        def matches(o):
            return (o is not None and (ns is None or o["metadata"].get("namespace") == ns)
                    and match_labels(lreqs, o["metadata"].get("labels")) and match_fields(freqs, o))

        with cluster.lock:
            epoch = cluster.epoch
            if send_initial or rv_param in ("", "0"):
                initial = [cluster.out(rt, o) for _, o in sorted(cluster._bucket(rt).items()) if matches(o)]
                last = cluster.rv
            else:
                initial = []
                try:
                    last = int(rv_param)
                except ValueError:
                    raise bad_request('invalid resource version "%s"' % rv_param)
                if last < cluster.events_floor:
                    gone = {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                                        "status": "Failure", "reason": "Expired", "code": 410,
                                                        "message": "too old resource version: %d (%d)" % (last, cluster.events_floor)}}
                    initial = None
        self.start_stream()
        self.close_connection = True  # one watch per connection, like the real server's h1 behaviour
        try:
            if initial is None:
                self.write_chunk(dumps(gone).encode() + b"\n")
                self.write_chunk(b"")
                return
            buf = b"".join(dumps({"type": "ADDED", "object": conv(o)}).encode() + b"\n" for o in initial)
            if send_initial and bookmarks:
                buf += dumps({"type": "BOOKMARK", "object": {
                    "kind": rt.kind, "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": str(last), "creationTimestamp": None,
                                 "annotations": {"k8s.io/initial-events-end": "true"}}}}).encode() + b"\n"
            if buf:
                self.write_chunk(buf)
            while True:
                out = []
                with cluster.lock:
                    while True:
                        if cluster.epoch != epoch:
                            break
                        i = bisect.bisect_right(cluster.events, last, key=lambda e: e[0])
                        evs = [e for e in cluster.events[i:] if e[2] == rt.store_key]
                        if cluster.events[i:]:
                            last = cluster.events[-1][0]
                        if evs:
                            break
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        cluster.cond.wait(min(remaining, 5.0))
                        if self.client_gone():
                            return
                    for _, etype, _, obj, old in evs:
                        now_m, old_m = matches(obj), matches(old)
                        if etype == "ADDED" and now_m:
                            out.append(("ADDED", obj))
                        elif etype == "MODIFIED":
                            if now_m and old_m:
                                out.append(("MODIFIED", obj))
                            elif now_m:
                                out.append(("ADDED", obj))
                            elif old_m:
                                out.append(("DELETED", obj))
                        elif etype == "DELETED" and (now_m or old_m):
                            out.append(("DELETED", obj))
                    done = cluster.epoch != epoch or (not evs and time.monotonic() >= deadline)
                if out:
                    self.write_chunk(b"".join(dumps({"type": t, "object": conv(cluster.out(rt, o))}).encode() + b"\n"
                                              for t, o in out))
                if done:
                    break
            self.write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            return


# ----------------------------------------------------------------------------------------------
# TLS material and main
# ----------------------------------------------------------------------------------------------

def make_certs(workdir):
    """A throw-away CA and a server certificate for 127.0.0.1/localhost (EC P-256: fast)."""
    ca_key, ca_crt = os.path.join(workdir, "ca.key"), os.path.join(workdir, "ca.crt")
    key, csr, crt = (os.path.join(workdir, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(workdir, "ext.cnf")
    openssl = "/usr/bin/openssl" if os.path.exists("/usr/bin/openssl") else None
    if openssl:
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run = lambda args: subprocess.run([openssl] + args, check=True, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE)
        run(["req", "-x509"] + ec + ["-keyout", ca_key, "-out", ca_crt, "-days", "3650",
                                     "-subj", "/CN=kube-emulator-ca",
                                     "-addext", "basicConstraints=critical,CA:TRUE",
                                     "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"])
        run(["req"] + ec + ["-keyout", key, "-out", csr, "-subj", "/CN=kube-apiserver"])
        run(["x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
             "-out", crt, "-days", "3650", "-extfile", ext])
        return ca_crt, crt, key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec as cec
    from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
    import ipaddress
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    later = now + datetime.timedelta(days=3650)
    cak = cec.generate_private_key(cec.SECP256R1())
    can = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-emulator-ca")])
    cac = (x509.CertificateBuilder().subject_name(can).issuer_name(can).public_key(cak.public_key())
           .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(later)
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
           .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
           .sign(cak, hashes.SHA256()))
    sk = cec.generate_private_key(cec.SECP256R1())
    sc = (x509.CertificateBuilder()
          .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
          .issuer_name(can).public_key(sk.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(later)
          .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                      x509.DNSName("localhost")]), critical=False)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
          .sign(cak, hashes.SHA256()))
    with open(ca_crt, "wb") as f:
        f.write(cac.public_bytes(serialization.Encoding.PEM))
    with open(crt, "wb") as f:
        f.write(sc.public_bytes(serialization.Encoding.PEM))
    with open(key, "wb") as f:
        f.write(sk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()))
    return ca_crt, crt, key


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description="Kubernetes API server emulator for end-to-end tests")
    ap.add_argument("--state-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--exit-on-stdin-eof", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    VERBOSE = args.verbose
    if args.host not in ("127.0.0.1", "localhost"):
        ap.error("the emulator only listens on loopback (127.0.0.1)")
    workdir = tempfile.mkdtemp(prefix="kube-emu-")

    def cleanup_and_exit(*_):
        try:
            for n in os.listdir(workdir):
                os.unlink(os.path.join(workdir, n))
            os.rmdir(workdir)
        except OSError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, cleanup_and_exit)
    signal.signal(signal.SIGINT, cleanup_and_exit)
    if args.exit_on_stdin_eof:
        def watch_stdin():
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            except (OSError, ValueError):
                pass
            cleanup_and_exit()
        threading.Thread(target=watch_stdin, daemon=True).start()

    ca_crt, crt, key = make_certs(workdir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    ctx.set_alpn_protocols(["http/1.1"])
    server = Server(("127.0.0.1", args.port), Handler, ctx)
    server.cluster("default")
    port = server.server_address[1]
    with open(ca_crt, "rb") as f:
        ca_pem = f.read()
    state_path = os.path.abspath(args.state_file)
    ca_file = state_path + ".ca.crt"
    with open(ca_file + ".tmp", "wb") as f:
        f.write(ca_pem)
    os.replace(ca_file + ".tmp", ca_file)
    state = {"url": "https://127.0.0.1:%d" % port, "port": port, "ca_file": ca_file,
             "ca_data": base64.b64encode(ca_pem).decode(), "pid": os.getpid()}
    tmp = state_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, state_path)
    log("serving on https://127.0.0.1:%d" % port)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        cleanup_and_exit()


if __name__ == "__main__":
    main()
