"""HTTPS server: routing, test hooks, watches, TLS material and main()."""

import argparse
import base64
import bisect
import datetime
import http.server
import json
import os
import re
import select
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse

import yaml

try:
    import jsonpatch
except ImportError:  # json-patch support degrades to a 415 without it
    jsonpatch = None

from . import certs, common
from .common import (
    ApiError, bad_request, dumps, log, match_fields, match_labels, parse_field_selector,
    parse_label_selector, resource_not_found)
from .protobuf import decode_protobuf_body
from .patches import merge_patch
from .cluster import Cluster
from .discovery import (
    AGG_DISCOVERY_CT, aggregated_discovery, api_group_doc, discovery_groups, openapi_docs,
    resource_list_doc)
from .printing import table_for


# ----------------------------------------------------------------------------------------------
# HTTP
# ----------------------------------------------------------------------------------------------

CLUSTER_RE = re.compile(r"^/clusters/([a-zA-Z0-9_.-]+)(/.*)?$")
CONFIG_KEYS = {"autoReadyDeployments": bool, "modelOperator": str, "modelDelaySeconds": (int, float),
               "modelFailReason": str, "modelFailMessage": str, "serverVersion": str,
               "responseDelaySeconds": (int, float), "deploymentReadySeconds": (int, float)}


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
            # Without TCP_NODELAY, Nagle + the client's delayed ACK add ~40 ms to every answer
            # whose headers and body go out in separate writes.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        if common.VERBOSE:
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
        # headers and body in one write (one TLS record, one TCP segment for small answers)
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.flush_headers()

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
            # A network round trip to a distant API server, for benchmarks (0 by default).
            delay = float(cluster.config.get("responseDelaySeconds") or 0)
            if delay > 0:
                time.sleep(delay)
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
                cfg["lastModelCompleteAt"] = cluster.last_model_complete_at
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
            if parts[1:] == ["v2"]:
                # An empty OpenAPI v2 Document (protobuf): kubectl's client-side validation, used
                # for kinds the server does not know, finds no schema and lets the request go on
                # to the REST mapping, which fails as on a real server ("no matches for kind ...
                # ensure CRDs are installed first").
                return self.send_bytes(200, b"", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
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

def main(early_certs=None):
    """early_certs: certs.start() begun by the entry script before the heavy imports."""
    ap = argparse.ArgumentParser(description="Kubernetes API server emulator for end-to-end tests")
    ap.add_argument("--state-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--exit-on-stdin-eof", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    common.VERBOSE = args.verbose
    if args.host not in ("127.0.0.1", "localhost"):
        ap.error("the emulator only listens on loopback (127.0.0.1)")
    pending = early_certs or certs.start()
    workdir = pending.workdir

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

    ca_crt, crt, key = certs.finish(pending)
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
