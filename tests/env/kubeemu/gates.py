"""What a workload waits for before it runs, and an emulated cert-manager.

A Deployment's pods start only when
  * an init container named `check-csi-drivers` would pass: it runs the checks of its `CHECKS`
    env (default "drivers crds", as the HyperPod inference operator's): CSIDrivers
    s3.csi.aws.com and fsx.csi.aws.com, CRDs certificaterequests/certificates.cert-manager.io;
    otherwise the pod stays Init:CrashLoopBackOff with the real script's termination message;
  * every Secret its pod template mounts (not `optional`) exists; otherwise the pod stays
    ContainerCreating with a FailedMount event.
Such a Deployment reports Available=False (MinimumReplicasUnavailable), so `helm --wait` and
`kubectl rollout status` wait until their deadline. Once what it waits for appears (through the
API or a hook) its pods start; like a real kubelet, a running pod is not re-checked later.

The emulated cert-manager "runs" when a Deployment labelled app.kubernetes.io/name=cert-manager,
app.kubernetes.io/component=controller is Available (the chart's or the EKS add-on's). Then every
cert-manager.io Certificate whose Issuer/ClusterIssuer exists gets its `spec.secretName` Secret
(kubernetes.io/tls) and Ready=True; Issuers get Ready=True.
"""

import base64

from .common import deep, now_iso, rand_suffix

INIT_CHECK = "check-csi-drivers"
CERT_GROUP = "cert-manager.io"
# Kinds whose writes can unblock a workload or a Certificate.
TRIGGERS = {("storage.k8s.io", "CSIDriver"), ("apiextensions.k8s.io", "CustomResourceDefinition"),
            ("", "Secret"), ("apps", "Deployment"), (CERT_GROUP, "Certificate"),
            (CERT_GROUP, "Issuer"), (CERT_GROUP, "ClusterIssuer")}


def _env(container, name, default):
    for e in container.get("env") or []:
        if e.get("name") == name and "value" in e:
            return e["value"]
    return default


class Gates:
    """Mixed into Cluster; every method runs with the cluster lock held."""

    gating = False

    # -- what a pod waits for ---------------------------------------------------------------

    def _exists(self, group, kind, ns, name):
        for (g, _v, k), rt in self.by_kind.items():
            if g == group and k == kind:
                return self._get(rt, ns, name) is not None
        return False

    def _init_failure(self, container):
        """The termination message of the operator's init container, or None when it passes."""
        for check in _env(container, "CHECKS", "drivers crds").split():
            if check == "drivers":
                for name, friendly in (("s3.csi.aws.com", "S3 CSI driver"), ("fsx.csi.aws.com", "FSx CSI driver")):
                    if not self._exists("storage.k8s.io", "CSIDriver", "", name):
                        return ('%s not installed (missing CSIDriver %s). kubectl said: Error from server '
                                '(NotFound): csidrivers.storage.k8s.io "%s" not found' % (friendly, name, name))
            elif check == "crds":
                for crd in ("certificaterequests.cert-manager.io", "certificates.cert-manager.io"):
                    if not self._exists("apiextensions.k8s.io", "CustomResourceDefinition", "", crd):
                        return ('Missing required CRD: %s. kubectl said: Error from server (NotFound): '
                                'customresourcedefinitions.apiextensions.k8s.io "%s" not found' % (crd, crd))
            else:
                return "Unknown check: %s" % check
        return None

    def pod_blockers(self, ns, spec):
        """(init container, message) for a failing init check; (None, message) for a missing Secret."""
        for c in spec.get("initContainers") or []:
            if c.get("name") == INIT_CHECK:
                msg = self._init_failure(c)
                if msg:
                    return (c.get("name"), msg)
        for v in spec.get("volumes") or []:
            sec = v.get("secret")
            if sec and not sec.get("optional") and not self._exists("", "Secret", ns, sec.get("secretName")):
                return (None, 'MountVolume.SetUp failed for volume "%s" : secret "%s" not found'
                        % (v.get("name"), sec.get("secretName")))
        return None

    def blocked_pod_status(self, spec, blocker):
        init_name, msg = blocker
        ts = now_iso()
        st = self._running_pod_status(spec)
        st["phase"] = "Pending"
        for c in st["conditions"]:
            if c["type"] in ("Ready", "ContainersReady", "PodReadyToStartContainers") or \
                    (c["type"] == "Initialized" and init_name):
                c["status"] = "False"
                c["reason"] = "ContainersNotInitialized" if c["type"] == "Initialized" else "ContainersNotReady"
        waiting = "PodInitializing" if init_name else "ContainerCreating"
        for cs in st["containerStatuses"]:
            cs.update(ready=False, started=False, state={"waiting": {"reason": waiting}})
            cs.pop("containerID", None)
        for cs in st.get("initContainerStatuses") or []:
            if cs["name"] == init_name:
                cs.update(ready=False, started=False, restartCount=4, state={"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off 1m20s restarting failed container=%s" % init_name}},
                    lastState={"terminated": {"exitCode": 1, "reason": "Error", "message": msg,
                                              "startedAt": ts, "finishedAt": ts}})
        return st

    def _mount_event(self, pod, msg):
        ev_rt = self.type_for("", "v1", "Event")
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        ts = now_iso()
        self._create_internal(ev_rt, {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "%s.%s" % (name, rand_suffix()), "namespace": ns},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": name, "namespace": ns,
                               "uid": pod["metadata"]["uid"]},
            "reason": "FailedMount", "message": msg, "type": "Warning", "count": 1,
            "firstTimestamp": ts, "lastTimestamp": ts, "source": {"component": "kubelet"}}, react=False)

    def gate_pods(self, pods_rt, pods, blocker):
        """Brings the statuses of a workload's pods in line with what they wait for."""
        for p in pods:
            st = p.get("status") or {}
            if st.get("phase") == "Running":
                continue  # a started pod is not checked again
            if blocker is None:
                self._write_status(pods_rt, p, self._running_pod_status(p.get("spec") or {}))
            elif self._blocker_of(st) not in (blocker[1], "mount" if blocker[0] is None else blocker[1]):
                self._write_status(pods_rt, p, self.blocked_pod_status(p.get("spec") or {}, blocker))
                if blocker[0] is None:
                    self._mount_event(p, blocker[1])

    @staticmethod
    def _blocker_of(status):
        """The message a waiting pod's status carries (init container failure), or None."""
        for cs in status.get("initContainerStatuses") or []:
            msg = ((cs.get("lastState") or {}).get("terminated") or {}).get("message")
            if msg and cs.get("state", {}).get("waiting"):
                return msg
        waiting = [cs for cs in status.get("containerStatuses") or []
                   if (cs.get("state") or {}).get("waiting", {}).get("reason") == "ContainerCreating"]
        return "mount" if waiting else None

    # -- re-evaluation after a relevant write -----------------------------------------------

    def gates_changed(self, rt, obj):
        if self.gating or (rt.group, rt.kind) not in TRIGGERS:
            return
        self.gating = True
        try:
            self._issue_certificates()
            if self.config.get("autoReadyDeployments", True):
                dep_rt = self.type_for("apps", "v1", "Deployment")
                for d in list(self._bucket(dep_rt).values()):
                    if (d.get("status") or {}).get("unavailableReplicas") and not d["metadata"].get("deletionTimestamp"):
                        self.reconcile_deployment(d)
        finally:
            self.gating = False

    # -- the emulated cert-manager ----------------------------------------------------------

    def _cert_manager_running(self):
        dep_rt = self.type_for("apps", "v1", "Deployment")
        for d in self._bucket(dep_rt).values():
            labels = d["metadata"].get("labels") or {}
            if labels.get("app.kubernetes.io/name") == "cert-manager" and \
                    labels.get("app.kubernetes.io/component") == "controller":
                for c in (d.get("status") or {}).get("conditions") or []:
                    if c.get("type") == "Available" and c.get("status") == "True":
                        return True
        return False

    def _cm_type(self, plural):
        ts = self.crd_types.get("%s.%s" % (plural, CERT_GROUP))
        return ts[0] if ts else None

    def _ready(self, rt, obj, message):
        conds = (obj.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
            return
        st = deep(obj.get("status") or {})
        st["conditions"] = [{"type": "Ready", "status": "True", "reason": "Ready", "message": message,
                             "lastTransitionTime": now_iso(),
                             "observedGeneration": obj["metadata"].get("generation", 1)}]
        return self._write_status(rt, obj, st)

    def _issue_certificates(self):
        cert_rt, issuer_rt, cissuer_rt = self._cm_type("certificates"), self._cm_type("issuers"), \
            self._cm_type("clusterissuers")
        if cert_rt is None or not self._cert_manager_running():
            return
        for rt in (issuer_rt, cissuer_rt):
            for o in list(self._bucket(rt).values()) if rt else []:
                self._ready(rt, o, "Signing CA verified" if rt is issuer_rt else "ClusterIssuer is ready")
        secret_rt = self.type_for("", "v1", "Secret")
        for cert in list(self._bucket(cert_rt).values()):
            ns, spec = cert["metadata"].get("namespace", ""), cert.get("spec") or {}
            ref = spec.get("issuerRef") or {}
            if ref.get("kind") == "ClusterIssuer":
                issuer = cissuer_rt and self._get(cissuer_rt, "", ref.get("name"))
            else:
                issuer = issuer_rt and self._get(issuer_rt, ns, ref.get("name"))
            if not issuer or not spec.get("secretName"):
                continue
            if self._get(secret_rt, ns, spec["secretName"]) is None:
                pem = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nZW11bGF0ZWQ=\n-----END CERTIFICATE-----\n").decode()
                key = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nZW11bGF0ZWQ=\n-----END PRIVATE KEY-----\n").decode()
                self._create_internal(secret_rt, {
                    "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                    "metadata": {"name": spec["secretName"], "namespace": ns,
                                 "annotations": {"cert-manager.io/certificate-name": cert["metadata"]["name"],
                                                 "cert-manager.io/issuer-name": ref.get("name", ""),
                                                 "cert-manager.io/issuer-kind": ref.get("kind", "Issuer")}},
                    "data": {"tls.crt": pem, "tls.key": key, "ca.crt": pem}})
            self._ready(cert_rt, cert, "Certificate is up to date and has not expired")
