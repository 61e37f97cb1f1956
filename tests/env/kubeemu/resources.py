"""Resource types: the built-in table, CRD-defined types, constants shared by the store."""

import re


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
