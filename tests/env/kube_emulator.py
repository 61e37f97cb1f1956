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
                                     modelFailReason, modelFailMessage, serverVersion,
                                     responseDelaySeconds (0: added before every API answer, a
                                     stand-in for a distant API server in benchmarks),
                                     deploymentReadySeconds (0: a Deployment written through the API
                                     becomes available that long after the write; benchmarks);
                                     GET adds read-only lastModelCompleteAt (epoch seconds a model
                                     last turned DeploymentComplete)
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

Controllers played (API writes only; objects stored through the hooks are left as they are)
-------------------------------------------------------------------------------------------
  autoReadyDeployments (default true): a Deployment gets a ReplicaSet and one Running, Ready pod
  per replica (template labels, `<deploy>-<hash>-<rand>`) and a fully available status; deleted
  pods come back; DaemonSets (one pod per node, at least 1), StatefulSets and Jobs (Succeeded)
  likewise; bare pods run; PVCs bind; LoadBalancer Services get a hostname.
  modelOperator "complete"|"fail": JumpStartModel / InferenceEndpointConfig get the finalizer
  inference.sagemaker.aws.amazon.com/finalizer and DeploymentInProgress, then after
  modelDelaySeconds DeploymentComplete (endpoint CreationCompleted when an endpoint name is set,
  a Deployment + Running pod labelled app=<name>) or DeploymentFailed (modelFailReason/Message);
  on delete DeletionInProgress, then the finalizer goes and the object with its pods.

Known gaps: server-side apply is a merge (no managedFields, no conflicts, fields dropped from a
later apply are not removed); strategic merge knows the usual list keys only; CRD versions are
not converted (same object, apiVersion rewritten); no CEL rules, RBAC or webhooks; protobuf
bodies only for the kinds in kubeemu/protobuf.py (others get 415); exec, attach, port-forward and
proxy are not served, `logs -f` returns the current text and ends; core and events.k8s.io Events
are separate stores; namespace and CRD deletion are immediate.
"""

import os
import sys

# The implementation lives in the kubeemu package next to this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":
    from kubeemu import certs
    early = certs.start()  # openssl works while Python imports the rest
    from kubeemu.server import main
    main(early)
