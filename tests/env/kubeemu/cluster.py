"""One emulated cluster: the store, the verbs, validation, CRD registration."""

import base64
import json
import threading
import traceback
import uuid

import yaml

try:
    import jsonpatch
except ImportError:  # json-patch support degrades to a 415 without it
    jsonpatch = None

from .common import (
    ApiError, FieldError, already_exists, bad_request, conflict, deep, get_path, invalid,
    match_fields, match_labels, not_found, now_iso, ns_not_found, parse_field_selector,
    parse_label_selector, qualified_resource, rand_suffix, selector_from_label_selector)
from .patches import apply_merge, merge_patch, strategic_merge
from .schema import apply_defaults, unknown_fields, validate_schema
from .resources import (
    BUILTIN_TYPES, DEFAULT_CONFIG, DNS1123_LABEL, DNS1123_SUBDOMAIN, INITIAL_NAMESPACES,
    LABEL_MSG, NO_GENERATION_KINDS, REVIEW_KINDS, ResourceType, SUBDOMAIN_MSG, _parse_gv,
    strip_for_compare)
from .controllers import Controllers


# ----------------------------------------------------------------------------------------------
# One cluster: store, verbs, watch log, and the controllers we play
#
# Invariant: a stored object is never mutated in place. Every write stores a fresh dict, so
# handlers may serialise objects they got from the store after releasing the lock, and the
# watch log can keep references to old versions.
# ----------------------------------------------------------------------------------------------

MAX_EVENTS = 20000


class Cluster(Controllers):
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
            self.ready_due = {}      # Deployment (ns, name, uid, generation) -> monotonic time it may be ready
            self.last_model_complete_at = None  # epoch seconds a model last turned DeploymentComplete
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
        try:
            self.gates_changed(rt, obj)
        except Exception:
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
        elif kind == "CustomResourceDefinition" and (not hook or "status" not in obj):
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
