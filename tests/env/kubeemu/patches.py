"""JSON merge patch, strategic merge patch and (managedFields-less) server-side apply."""

from .common import deep


# ----------------------------------------------------------------------------------------------
# Patches
# ----------------------------------------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return deep(patch)
    if not isinstance(target, dict):
        target = {}
    else:
        target = dict(target)
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


# Strategic-merge-patch list merge keys of the built-in types (patchMergeKey in k8s.io/api).
SMP_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "imagePullSecrets": "name", "ownerReferences": "uid", "conditions": "type",
    "hostAliases": "ip", "topologySpreadConstraints": "topologyKey", "secrets": "name",
    "resourceClaims": "name", "schedulingGates": "name", "addresses": "type",
}
SMP_PRIMITIVE_MERGE = {"finalizers"}


def _ports_key(items):
    for it in items:
        if isinstance(it, dict) and "containerPort" in it:
            return "containerPort"
    return "port"


def strategic_merge(orig, patch):
    """A good-enough strategic merge patch of built-in objects (directives included)."""
    if not isinstance(patch, dict):
        return deep(patch)
    if not isinstance(orig, dict):
        orig = {}
    if patch.get("$patch") == "replace":
        return {k: deep(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(orig)
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys") or k.startswith("$setElementOrder/"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [x for x in result[field] if x not in (v or [])]
            continue
        if v is None:
            result.pop(k, None)
            continue
        cur = result.get(k)
        if isinstance(v, dict):
            merged = strategic_merge(cur, v)
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
        elif isinstance(v, list):
            result[k] = _smp_list(k, cur if isinstance(cur, list) else [], v)
        else:
            result[k] = v
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _smp_list(field, orig, patch):
    if any(isinstance(it, dict) and it.get("$patch") == "replace" for it in patch):
        return [deep(it) for it in patch if not (isinstance(it, dict) and "$patch" in it)]
    if field in SMP_PRIMITIVE_MERGE:
        out = list(orig)
        for it in patch:
            if it not in out:
                out.append(it)
        return out
    key = SMP_MERGE_KEYS.get(field)
    if field == "ports":
        key = _ports_key(list(orig) + list(patch))
    if not key or not all(isinstance(it, dict) for it in patch):
        return [deep(it) for it in patch]
    out = [deep(it) for it in orig]
    for it in patch:
        kv = it.get(key)
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == kv), None)
        if it.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append({k: v for k, v in deep(it).items() if v is not None and k != "$patch"})
        else:
            out[idx] = strategic_merge(out[idx], it)
    return out


def apply_merge(orig, applied, strategic):
    """Server-side apply without managedFields: a merge where lists are merged by their keys
    for built-ins (strategic) and replaced for custom resources (atomic lists)."""
    if strategic:
        return strategic_merge(orig, applied)
    if not isinstance(applied, dict) or not isinstance(orig, dict):
        return deep(applied)
    out = dict(orig)
    for k, v in applied.items():
        out[k] = apply_merge(orig.get(k), v, False) if isinstance(v, dict) else deep(v)
    return out
