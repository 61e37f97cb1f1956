"""Server-side printing: the meta.k8s.io Table that kubectl get asks for."""

import datetime

from .common import dumps, get_path, selector_from_label_selector
from .resources import is_ready_condition


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
