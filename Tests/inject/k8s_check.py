#!/usr/bin/env python3
"""Independent checks of the injector's output, used by ShardlineInjectTests.

patch:         stdin [{"name": ..., "object": {...}, "patch": "<base64 RFC 6902>"}, ...] -> each
               object with its patch applied by the `jsonpatch` package and validated; prints
               {"results": [{"name", "patched"} or {"name", "error"}, ...]}. One process for all
               (loading the schemas is the expensive part).
validate-yaml: FILE -> every YAML document in FILE validated.

Validation is `kubernetes-validate --strict` (offline schemas, unknown fields are errors) for
Kubernetes 1.29 (the first with native sidecars on by default) and the newest version the package
ships. Exit 0 when everything passed; 1 with the reason on stderr otherwise; 3 when a package is
missing (the Swift test then skips, or fails under SHARDLINE_REQUIRE_PEERS=1).
"""
import base64
import json
import sys

try:
    import jsonpatch
    import yaml
    from kubernetes_validate import utils as kv
except ImportError as error:  # pragma: no cover - reported to the Swift test
    print(f"missing Python package: {error}", file=sys.stderr)
    sys.exit(3)

VERSIONS = ["1.29.0", kv.latest_version()]


def problem(document, where):
    """The first reason `document` is invalid, or None."""
    for version in VERSIONS:
        try:
            kv.validate(document, version, strict=True)
        except kv.ValidationError as error:
            path = "/".join(str(p) for p in error.path)
            return f"{where}: invalid for Kubernetes {version} at {path or '(root)'}: {error.message}"
        except (kv.SchemaNotFoundError, kv.InvalidSchemaError) as error:
            return f"{where}: no schema for Kubernetes {version}: {error}"
    return None


def validate(document, where):
    reason = problem(document, where)
    if reason:
        print(reason, file=sys.stderr)
        sys.exit(1)


def main():
    mode = sys.argv[1]
    if mode == "patch":
        results = []
        for request in json.load(sys.stdin):
            name = request["name"]
            try:
                operations = json.loads(base64.b64decode(request["patch"]))
                patched = jsonpatch.JsonPatch(operations).apply(request["object"])
            except (ValueError, jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
                results.append({"name": name, "error": f"{name}: the patch does not apply: {error}"})
                continue
            reason = problem(patched, name)
            results.append({"name": name, "error": reason} if reason else {"name": name, "patched": patched})
        json.dump({"results": results, "versions": VERSIONS}, sys.stdout)
    elif mode == "validate-yaml":
        with open(sys.argv[2]) as handle:
            documents = [d for d in yaml.safe_load_all(handle) if d is not None]
        for index, document in enumerate(documents, start=1):
            if document.get("kind") == "List":
                for item_index, item in enumerate(document.get("items") or []):
                    validate(item, f"document {index} items[{item_index}]")
            else:
                validate(document, f"document {index}")
        json.dump({"documents": len(documents), "versions": VERSIONS}, sys.stdout)
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
