"""A Kubernetes API stand-in for the kubernetes connector's tests, on kmock's emulator.

Serves /version, discovery and the seeded objects of namespace `toolkit-demo` (two pods, two
configmaps, a secret, an event of `web-1`), the log of pod `web-1`, and SelfSubjectAccessReviews (always allowed).
Every request must carry `Authorization: Bearer <token>` with the token given in the
environment (TOOLKIT_KMOCK_TOKEN); anything else gets a 401 Status, as a real API server answers.

Usage: TOOLKIT_KMOCK_TOKEN=... python3 kmock_server.py PORT
"""

import asyncio
import os
import sys

import aiohttp.web
import kmock

NS = "toolkit-demo"
LOG = "".join(f"web-1 log line {i}\n" for i in range(1, 51))


TOKEN = ""
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


class Guarded(kmock.KubernetesEmulator):
    async def __call__(self, raw_request):
        if raw_request.headers.get("Authorization", "") != f"Bearer {TOKEN}":
            await raw_request.read()
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "Unauthorized",
                "reason": "Unauthorized",
                "code": 401,
            }
            return aiohttp.web.json_response(status, status=401)
        # Reviews are answered here: the emulator would store them as objects (409 the second time).
        if raw_request.method == "POST" and raw_request.path == SSAR_PATH:
            body = await raw_request.json()
            body["status"] = {"allowed": True, "reason": "kmock allows everything"}
            return aiohttp.web.json_response(body, status=201)
        return await super().__call__(raw_request)


def pod(name, app):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"app": app},
            "managedFields": [{"manager": "kubectl", "operation": "Update"}],
        },
        "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
        "status": {"phase": "Running"},
    }


def seed(k):
    k.resources["v1/namespaces"] = {"kind": "Namespace", "namespaced": False, "verbs": ["get", "list"]}
    for plural, kind in [("pods", "Pod"), ("configmaps", "ConfigMap"), ("secrets", "Secret"), ("events", "Event")]:
        k.resources[f"v1/{plural}"] = {"kind": kind, "namespaced": True, "verbs": ["get", "list", "watch"]}
    k.resources["apps/v1/deployments"] = {"kind": "Deployment", "namespaced": True, "verbs": ["get", "list"]}
    # A custom resource: this project's own Tool.
    k.resources["toolkit.dev/v1alpha1/tools"] = {"kind": "Tool", "namespaced": True, "verbs": ["get", "list"]}
    k.objects["toolkit.dev/v1alpha1/tools", NS, "orders-db"] = {
        "apiVersion": "toolkit.dev/v1alpha1",
        "kind": "Tool",
        "metadata": {"name": "orders-db", "namespace": NS},
        "spec": {"type": "postgres", "description": "Orders."},
    }
    k.objects["v1/namespaces", None, NS] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    k.objects["v1/pods", NS, "web-1"] = pod("web-1", "web")
    k.objects["v1/pods", NS, "worker-1"] = pod("worker-1", "worker")
    for name in ("settings", "features"):
        k.objects["v1/configmaps", NS, name] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NS},
            "data": {"mode": name},
        }
    k.objects["v1/secrets", NS, "db-password"] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-password", "namespace": NS},
        "type": "Opaque",
        "data": {"password": "c2VjcmV0LXZhbHVlLWluLXRoZS1jbHVzdGVy"},
    }
    k.objects["v1/events", NS, "web-1.1"] = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web-1.1", "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": NS},
        "type": "Normal",
        "reason": "Started",
        "message": "Started container main",
        "count": 1,
        "source": {"component": "kubelet"},
    }
    k["get", f"/api/v1/namespaces/{NS}/pods/web-1/log"] << (lambda req: tail(req))


def tail(req):
    lines = LOG.splitlines(keepends=True)
    n = req.params.get("tailLines")
    if n is not None:
        lines = lines[-int(n):] if int(n) > 0 else []
    return "".join(lines).encode()


async def main(port, token):
    global TOKEN
    TOKEN = token
    handler = Guarded()
    async with handler, kmock.Server(handler, host="127.0.0.1", port=port):
        seed(handler)
        print(f"kmock serving on 127.0.0.1:{port}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), os.environ["TOOLKIT_KMOCK_TOKEN"]))
