"""Shared helpers: JSON utilities, metav1.Status errors, field errors, label and field selectors."""

import datetime
import hashlib
import json
import random
import re
import sys


VERBOSE = False


def log(msg):
    if VERBOSE:
        sys.stderr.write("[kube-emu] %s\n" % msg)
        sys.stderr.flush()


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        if key == "involvedObject.uid" and not get_path(obj, key):
            continue  # events stored through the hooks often lack the uid; kubectl describe asks for it
        actual = field_value(obj, key)
        if op == "=" and actual != val:
            return False
        if op == "!=" and actual == val:
            return False
    return True
