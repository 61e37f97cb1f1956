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
import copy
import datetime
import hashlib
import http.server
import json
import os
import random
import re
import select
import signal
import socket
import ssl
import string
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


def now_micro():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
PB_KINDS = {
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
        elif typ == "time":
            t = pb_decode(val, PB_TIME)
            if t.get("seconds"):
                out[name] = datetime.datetime.fromtimestamp(
                    t["seconds"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif typ in ("map_str", "map_bytes"):
            entry = {k: v for k, _, v in pb_fields(val)}
            key = entry.get(1, b"").decode("utf-8")
            raw = entry.get(2, b"")
            out.setdefault(name, {})[key] = (raw.decode("utf-8") if typ == "map_str"
                                             else base64.b64encode(raw).decode())
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
policy/v1 poddisruptionbudgets poddisruptionbudget PodDisruptionBudget N pdb - status
networking.k8s.io/v1 ingresses ingress Ingress N ing - status
networking.k8s.io/v1 ingressclasses ingressclass IngressClass C - - -
networking.k8s.io/v1 networkpolicies networkpolicy NetworkPolicy N netpol - -
coordination.k8s.io/v1 leases lease Lease N - - -
events.k8s.io/v1 events event Event N ev - -
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
