"""Decoding of application/vnd.kubernetes.protobuf request bodies."""

import base64
import datetime

from .common import ApiError, bad_request


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
