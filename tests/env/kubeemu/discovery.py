"""Discovery documents (legacy and aggregated) and OpenAPI v3."""

import base64
import hashlib
import re

from .common import dumps
from .resources import BUILTIN_GROUP_ORDER


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
