"""CRD structural schemas: defaulting, validation with the apiserver's messages, unknown fields."""

import json
import re

from .common import FieldError, deep, dumps


# ----------------------------------------------------------------------------------------------
# CRD structural schemas: defaulting, validation, unknown fields
# ----------------------------------------------------------------------------------------------

_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
               dict: "object", type(None): "null"}


def _json_type(v):
    return _TYPE_NAMES.get(type(v), "object")


def apply_defaults(schema, obj):
    """Sets `default` values of the schema (like the apiserver does on create, update and read)."""
    if not isinstance(schema, dict):
        return obj
    if isinstance(obj, dict):
        props = schema.get("properties") or {}
        for k, sub in props.items():
            if k not in obj and isinstance(sub, dict) and "default" in sub:
                obj[k] = deep(sub["default"])
            if k in obj:
                obj[k] = apply_defaults(sub, obj[k])
        addl = schema.get("additionalProperties")
        if isinstance(addl, dict):
            for k in list(obj.keys()):
                if k not in props:
                    obj[k] = apply_defaults(addl, obj[k])
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, it in enumerate(obj):
            obj[i] = apply_defaults(schema["items"], it)
    return obj


def _child(path, key):
    return key if not path else "%s.%s" % (path, key)


def validate_schema(schema, obj, path, errs):
    """The checks of kube-openapi's validator that CRDs use, with the apiserver's messages."""
    if not isinstance(schema, dict):
        return
    if obj is None:
        if schema.get("nullable") or not schema.get("type"):
            return
        errs.append(FieldError("type", path, "null", "%s in body must be of type %s: \"null\""
                               % (path, schema["type"])))
        return
    int_or_string = schema.get("x-kubernetes-int-or-string")
    typ = schema.get("type")
    actual = _json_type(obj)
    if int_or_string:
        if actual not in ("integer", "string"):
            errs.append(FieldError("type", path, actual, "%s in body must be of type int-or-string: %s"
                                   % (path, json.dumps(actual))))
            return
    elif typ:
        ok = (actual == typ or (typ == "number" and actual == "integer")
              or (typ == "integer" and isinstance(obj, float) and obj.is_integer()))
        if not ok:
            errs.append(FieldError("type", path, actual, "%s in body must be of type %s: %s"
                                   % (path, typ, json.dumps(actual))))
            return
    if "enum" in schema and obj not in schema["enum"]:
        vals = ", ".join(json.dumps(v) if isinstance(v, str) else dumps(v) for v in schema["enum"])
        errs.append(FieldError("notsupported", path, obj, "supported values: " + vals))
    if isinstance(obj, str):
        if "maxLength" in schema and len(obj) > schema["maxLength"]:
            errs.append(FieldError("toolong", path, obj, "may not be more than %d bytes"
                                   % schema["maxLength"]))
        if "minLength" in schema and len(obj) < schema["minLength"]:
            errs.append(FieldError("invalid", path, obj, "%s in body should be at least %d chars long"
                                   % (path, schema["minLength"])))
        if "pattern" in schema:
            try:
                if not re.search(schema["pattern"], obj):
                    errs.append(FieldError("invalid", path, obj, "%s in body should match '%s'"
                                           % (path, schema["pattern"])))
            except re.error:
                pass
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        if "maximum" in schema:
            mx = schema["maximum"]
            if obj > mx or (schema.get("exclusiveMaximum") and obj == mx):
                errs.append(FieldError("invalid", path, obj, "%s in body should be less than %s%s"
                                       % (path, "" if schema.get("exclusiveMaximum") else "or equal to ", mx)))
        if "minimum" in schema:
            mn = schema["minimum"]
            if obj < mn or (schema.get("exclusiveMinimum") and obj == mn):
                errs.append(FieldError("invalid", path, obj, "%s in body should be greater than %s%s"
                                       % (path, "" if schema.get("exclusiveMinimum") else "or equal to ", mn)))
    if isinstance(obj, list):
        if "maxItems" in schema and len(obj) > schema["maxItems"]:
            errs.append(FieldError("toomany", path, len(obj), "must have at most %d items"
                                   % schema["maxItems"]))
        if "minItems" in schema and len(obj) < schema["minItems"]:
            errs.append(FieldError("invalid", path, len(obj), "%s in body should have at least %d items"
                                   % (path, schema["minItems"])))
        items = schema.get("items")
        if isinstance(items, dict):
            for i, it in enumerate(obj):
                validate_schema(items, it, "%s[%d]" % (path, i), errs)
    if isinstance(obj, dict):
        for req in schema.get("required") or []:
            if req not in obj:
                errs.append(FieldError("required", _child(path, req)))
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        for k, v in obj.items():
            if k in props:
                validate_schema(props[k], v, _child(path, k), errs)
            elif isinstance(addl, dict):
                validate_schema(addl, v, _child(path, k), errs)
    for sub in schema.get("allOf") or []:
        validate_schema(sub, obj, path, errs)


def unknown_fields(schema, obj, path, out, prune):
    """Collects (and with prune=True removes) fields the structural schema does not declare."""
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(obj, dict):
        props = schema.get("properties")
        addl = schema.get("additionalProperties")
        if props is None and addl is None:
            if schema.get("type") == "object" and obj and not schema.get("x-kubernetes-embedded-resource"):
                for k in list(obj.keys()):
                    out.append(_child(path, k))
                    if prune:
                        del obj[k]
            return
        for k in list(obj.keys()):
            if props and k in props:
                unknown_fields(props[k], obj[k], _child(path, k), out, prune)
            elif isinstance(addl, dict):
                unknown_fields(addl, obj[k], _child(path, k), out, prune)
            elif addl is True:
                continue
            else:
                out.append(_child(path, k))
                if prune:
                    del obj[k]
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, it in enumerate(obj):
            unknown_fields(schema["items"], it, "%s[%d]" % (path, i), out, prune)
