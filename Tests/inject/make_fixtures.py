#!/usr/bin/env python3
"""Writes Tests/inject/fixtures/*.json: AdmissionReviews shaped as the API server sends them to a
mutating webhook (defaulted pods with service-account volumes, controller metadata; workload
kinds with their defaulted pod templates). Run again after changing it; the fixtures are committed."""
import json, copy, os
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

def pod_spec(extra_containers=None, host_network=False, ports=None, sa_volume=True):
    c = {
        "name": "app", "image": "registry.example/users-client:1.0",
        "env": [{"name": "USERS_URL", "value": "http://127.0.0.1:15001"}],
        "resources": {}, "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
    }
    if ports: c["ports"] = ports
    if sa_volume:
        c["volumeMounts"] = [{"name": "kube-api-access-7xk2p", "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
    spec = {
        "containers": [c] + (extra_containers or []),
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default", "serviceAccount": "default", "securityContext": {},
        "schedulerName": "default-scheduler",
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
        "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
    }
    if sa_volume:
        spec["volumes"] = [{"name": "kube-api-access-7xk2p", "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}],
            "defaultMode": 420}}]
    if host_network:
        spec["hostNetwork"] = True
    return spec

def template_spec():
    s = pod_spec(sa_volume=False)
    for k in ["serviceAccountName", "serviceAccount", "tolerations", "priority", "enableServiceLinks", "preemptionPolicy"]:
        s.pop(k)
    return s

def pod(annotations, namespace="team-a", **kw):
    meta = {"generateName": "users-client-6d5f7c9b8-", "namespace": namespace,
            "uid": "0d3b8c5e-1d7a-4a4f-9a57-3c1f1f0f4b21", "creationTimestamp": "2026-11-29T10:00:00Z",
            "labels": {"app": "users-client", "pod-template-hash": "6d5f7c9b8"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "users-client-6d5f7c9b8",
                                 "uid": "8f0e2f55-5d0e-4f0e-a4a4-9e7a1f9d3c10", "controller": True, "blockOwnerDeletion": True}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                               "time": "2026-11-29T10:00:00Z", "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}}}}}]}
    if namespace is None: meta.pop("namespace")
    if annotations is not None: meta["annotations"] = annotations
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": pod_spec(**kw), "status": {}}

def review(obj, group, version, resource, namespace="team-a", dry_run=False, operation="CREATE", uid="705ab4f5-6393-11e8-b7cc-42010a800002"):
    req = {"uid": uid,
           "kind": {"group": group, "version": version, "kind": obj["kind"]},
           "resource": {"group": group, "version": version, "resource": resource},
           "requestKind": {"group": group, "version": version, "kind": obj["kind"]},
           "requestResource": {"group": group, "version": version, "resource": resource},
           "operation": operation,
           "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                        "uid": "6a1c9c3e-0000-4000-8000-000000000001",
                        "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]},
           "object": obj, "oldObject": None, "dryRun": dry_run,
           "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}}
    if namespace is not None:
        req["namespace"] = namespace
    if obj["metadata"].get("name"):
        req["name"] = obj["metadata"]["name"]
    return {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": req}

def workload(kind, api, annotations):
    tmeta = {"creationTimestamp": None, "labels": {"app": "users-client"}}
    if annotations is not None: tmeta["annotations"] = annotations
    template = {"metadata": tmeta, "spec": template_spec()}
    meta = {"name": "users-client", "namespace": "team-a", "creationTimestamp": None}
    sel = {"matchLabels": {"app": "users-client"}}
    if kind == "Deployment":
        spec = {"replicas": 2, "selector": sel, "template": template,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}
    elif kind == "StatefulSet":
        spec = {"replicas": 3, "selector": sel, "template": template, "serviceName": "users-client",
                "podManagementPolicy": "OrderedReady", "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "revisionHistoryLimit": 10, "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"}}
    elif kind == "DaemonSet":
        spec = {"selector": sel, "template": template,
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}, "revisionHistoryLimit": 10}
    elif kind == "ReplicaSet":
        spec = {"replicas": 1, "selector": sel, "template": template}
    elif kind == "Job":
        template["spec"]["restartPolicy"] = "Never"
        spec = {"parallelism": 1, "completions": 1, "backoffLimit": 6, "template": template, "completionMode": "NonIndexed", "suspend": False}
    elif kind == "CronJob":
        template["spec"]["restartPolicy"] = "OnFailure"
        spec = {"schedule": "*/5 * * * *", "concurrencyPolicy": "Allow", "suspend": False,
                "jobTemplate": {"metadata": {"creationTimestamp": None}, "spec": {"template": template}},
                "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1}
    status = {"DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0},
              "ReplicaSet": {"replicas": 0}, "StatefulSet": {"replicas": 0, "availableReplicas": 0}}.get(kind, {})
    return {"kind": kind, "apiVersion": api, "metadata": meta, "spec": spec, "status": status}

fixtures = {}
enabled = {"shardline.io/inject": "enabled"}
fixtures["pod-opt-in"] = review(pod(dict(enabled)), "", "v1", "pods")
fixtures["pod-opt-in-no-namespace"] = review(pod(dict(enabled), namespace=None), "", "v1", "pods", namespace=None)
fixtures["pod-opt-in-no-annotations-namespace-enabled"] = review(pod(None), "", "v1", "pods")
fixtures["pod-opt-out"] = review(pod({"shardline.io/inject": "disabled"}), "", "v1", "pods")
fixtures["pod-not-opted-in"] = review(pod({"example.com/other": "x"}), "", "v1", "pods")
fixtures["pod-dry-run"] = review(pod(dict(enabled)), "", "v1", "pods", dry_run=True)
fixtures["pod-overrides"] = review(pod({**enabled, "shardline.io/image": "registry.example/shardline:9.9", "shardline.io/config-map": "users-routing",
    "shardline.io/cpu-request": "250m", "shardline.io/memory-limit": "256Mi", "shardline.io/log-level": "debug", "shardline.io/proxy-env": "true",
    "shardline.io/sidecar-mode": "container"}), "", "v1", "pods")
fixtures["pod-host-network"] = review(pod(dict(enabled), host_network=True), "", "v1", "pods")
fixtures["pod-port-clash"] = review(pod(dict(enabled), ports=[{"name": "admin", "containerPort": 15090, "protocol": "TCP"}]), "", "v1", "pods")
existing = {"name": "shardline", "image": "registry.example/shardline:0.1", "resources": {}, "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}
fixtures["pod-existing-sidecar"] = review(pod(dict(enabled), extra_containers=[existing]), "", "v1", "pods")
fixtures["pod-update"] = review(pod(dict(enabled)), "", "v1", "pods", operation="UPDATE")
for kind, api, resource in [("Deployment", "apps/v1", "deployments"), ("StatefulSet", "apps/v1", "statefulsets"),
                            ("DaemonSet", "apps/v1", "daemonsets"), ("ReplicaSet", "apps/v1", "replicasets"),
                            ("Job", "batch/v1", "jobs"), ("CronJob", "batch/v1", "cronjobs")]:
    group, version = api.split("/")
    fixtures[f"{kind.lower()}-opt-in"] = review(workload(kind, api, dict(enabled)), group, version, resource)
    fixtures[f"{kind.lower()}-not-opted-in"] = review(workload(kind, api, None), group, version, resource)
os.makedirs(out, exist_ok=True)
for name, value in fixtures.items():
    with open(f"{out}/{name}.json", "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
print(len(fixtures))
