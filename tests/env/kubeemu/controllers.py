"""The controllers that are not there: workloads become ready, the HyperPod inference operator."""

import random
import threading
import time
import traceback

from .gates import Gates
from .common import deep, get_path, now_iso, rand_suffix, stable_hash
from .resources import MODEL_FINALIZER, MODEL_GROUP, MODEL_KINDS, is_ready_condition


class Controllers(Gates):
    """Mixed into Cluster; every method runs with the cluster lock held."""

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
            self._hold_deployment(obj)
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
        """Makes `owner` own exactly `replicas` pods built from `template`: running, or waiting
        for what they need (gates.py). Returns what they wait for (None when they run)."""
        pods_rt = self.type_for("", "v1", "Pod")
        ns = owner["metadata"]["namespace"]
        spec = template.get("spec") or {}
        blocker = self.pod_blockers(ns, spec)
        pods = self._owned(pods_rt, ns, owner["metadata"]["uid"])
        for p in pods[replicas:]:
            self._remove(pods_rt, p)
        self.gate_pods(pods_rt, pods[:replicas], blocker)
        for i in range(len(pods), replicas):
            name = name_fn(i)
            while self._get(pods_rt, ns, name) is not None:
                name = name_fn(i)
            status = self.blocked_pod_status(spec, blocker) if blocker else None
            pod = self._make_pod(ns, name, template, owner, extra_labels, status=status)
            if blocker and blocker[0] is None:
                self._mount_event(pod, blocker[1])
        return blocker

    @staticmethod
    def _dep_key(dep):
        m = dep["metadata"]
        return (m.get("namespace", ""), m["name"], m.get("uid"), m.get("generation", 1))

    def _hold_deployment(self, dep):
        """deploymentReadySeconds (benchmarks): a Deployment written through the API (a new one or a
        new generation) becomes available only that long after the write, as image pulls and
        start-up take on a real cluster."""
        delay = float(self.config.get("deploymentReadySeconds") or 0)
        key = self._dep_key(dep)
        if delay <= 0 or key in self.ready_due:
            return
        self.ready_due[key] = time.monotonic() + delay
        self._schedule(lambda _rt, cur, _gen: self.reconcile_deployment(cur),
                       self.type_for("apps", "v1", "Deployment"), dep, delay)

    def reconcile_deployment(self, dep):
        """Plays the deployment controller + kubelet: a ReplicaSet for the current template and
        one Running, Ready pod per replica; then a fully available status (what kubectl rollout
        status / wait and helm --wait check)."""
        if dep["metadata"].get("deletionTimestamp"):
            return
        held = time.monotonic() < self.ready_due.get(self._dep_key(dep), 0)
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
        blocker = self._sync_pods(rs, rs_template, replicas, lambda i: "%s-%s" % (rs_name, rand_suffix()))
        blocker = blocker or held
        rs_status = {"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                     "availableReplicas": replicas, "observedGeneration": rs["metadata"].get("generation", 1)}
        if blocker and replicas:
            rs_status = {"replicas": replicas, "fullyLabeledReplicas": replicas,
                         "observedGeneration": rs["metadata"].get("generation", 1)}
        if replicas == 0:
            rs_status = {"replicas": 0, "observedGeneration": rs["metadata"].get("generation", 1)}
        if rs.get("status") != rs_status:
            self._write_status(rs_rt, rs, rs_status)
        gen = dep["metadata"].get("generation", 1)
        st = dep.get("status") or {}
        if blocker and replicas:
            ts = now_iso()
            status = {"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
                      "unavailableReplicas": replicas,
                      "conditions": [
                          {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                           "message": "Deployment does not have minimum availability.", "lastUpdateTime": ts,
                           "lastTransitionTime": ts},
                          {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                           "message": 'ReplicaSet "%s" is progressing.' % rs_name,
                           "lastUpdateTime": ts, "lastTransitionTime": ts}]}
            if st.get("unavailableReplicas") != replicas or st.get("observedGeneration") != gen:
                self._write_status(dep_rt, dep, status)
            return
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

    def _schedule(self, fn, rt, obj, delay=None):
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
        if delay is None:
            delay = float(self.config.get("modelDelaySeconds", 1.0))
        t = threading.Timer(delay, run)
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
        self.last_model_complete_at = time.time()

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
