"""A small Kubernetes API server for tests, on aiohttp (which kmock brings).

It keeps objects in memory and serves what kube-rs controllers and kubectl use:

- discovery (`/api`, `/apis`, `/api/v1`, `/apis/GROUP/VERSION`, `/version`), with the
  resources of CustomResourceDefinitions posted to it, their short names and categories;
- get, list, create, replace, patch (merge, JSON, strategic as merge, server-side apply as
  merge without field ownership) and delete, with `resourceVersion`, `uid`, `generation`
  (bumped when anything but metadata and status changes), `creationTimestamp` and
  `generateName`; a replace or patch naming an old `resourceVersion` gets 409 Conflict, a second
  create 409 AlreadyExists;
- the `status` subresource of CRDs that declare it: the main resource ignores `status`, the
  subresource changes only `status`;
- finalizers: deleting an object with finalizers sets `deletionTimestamp`, and it goes once
  they are removed;
- label selectors (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`) and field selectors
  (`metadata.name`, `metadata.namespace`, any dotted path, `=`/`!=`);
- watches from a resourceVersion (410 Gone when it is older than the history kept), with
  bookmarks and `timeoutSeconds`;
- `as=PartialObjectMetadata[List]` (metadata-only lists and watches) and `as=Table` with the
  CRD's printer columns (`kubectl get`);
- the garbage collector, simplified: deleting an object deletes at once the objects of its
  namespace whose `ownerReferences` name its uid (a Lease that owns a bastion pod), even those
  that name other owners still there.

It also stands in for the kubelet, on this machine:

- a pod is reported running shortly after it is created (a MODIFIED event with `phase: Running`,
  the PodScheduled, Initialized, ContainersReady and Ready conditions, a running and ready
  status per container, `podIP` 127.0.0.1 and `startTime`), unless a container's environment
  names a Secret, ConfigMap or key that is not there and not `optional`: then it stays Pending
  with `CreateContainerConfigError` and the kubelet's message, and is tried again when a Secret
  or ConfigMap is written in its namespace. Images, init containers, probes, volumes and
  restarts are not emulated; a pod is deleted at once, without a grace period;
- `pods/exec` over a websocket with the channel protocols `v5.channel.k8s.io` and
  `v4.channel.k8s.io` (v5 when the client offers it: kube-rs offers both, kubectl 1.37 only
  v5): the command runs here as a local process with the container's environment (its
  `env`, `envFrom`, Secret and ConfigMap references resolved, PATH and HOME from here when the
  pod sets none), on a pseudo-terminal when `tty=true` (stderr then goes to the terminal, and
  resizes on channel 4 set its size), in `workingDir` or `/`. Its exit is written on channel 3
  as the kubelet's v1.Status (NonZeroExitCode with an ExitCode cause, 128+N for a signal). The
  process is killed when the client goes away or the pod is deleted; when a v5 client closes
  stdin, a pipe is closed and a terminal hung up (SIGHUP). SPDY (what kubectl falls back to) is
  not served.

Not emulated: authentication and authorization (every request is allowed), admission,
OpenAPI schemas and validation (kubectl needs `--validate=false`), field managers, and
pagination (a list returns everything).

Every request (exec ones too) is appended as one JSON line to the file given with `--requests`,
so a test can check what a client asked for (for instance that no Secret's data was listed); a
repeated query parameter (exec's `command`) is logged as a list.

Usage: python3 apiserver.py --port PORT [--port-file FILE] [--requests FILE]
"""

import argparse
import asyncio
import base64
import copy
import datetime
import fcntl
import json
import os
import re
import signal
import struct
import sys
import termios
import uuid

import aiohttp.web as web

try:
    import yaml
except ImportError:  # server-side apply bodies are JSON from kubectl and kube-rs
    yaml = None

HISTORY = 20000
KUBELET_DELAY = 0.2  # seconds between a pod's creation and the kubelet reporting it started
EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"]  # best first
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255  # channels of the exec protocols
EXEC_DRAIN = 5  # seconds to send what a command wrote before it exited, once it has

CORE = [
    ("namespaces", "Namespace", False),
    ("secrets", "Secret", True),
    ("configmaps", "ConfigMap", True),
    ("events", "Event", True),
    ("services", "Service", True),
    ("serviceaccounts", "ServiceAccount", True),
    ("pods", "Pod", True),
]
BUILTIN_GROUPS = {
    ("events.k8s.io", "v1"): [("events", "Event", True)],
    ("coordination.k8s.io", "v1"): [("leases", "Lease", True)],
    # What `toolkit-operator manifests` installs besides the CRDs; stored, never enforced.
    ("apps", "v1"): [("deployments", "Deployment", True)],
    ("rbac.authorization.k8s.io", "v1"): [
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
    ],
    ("apiextensions.k8s.io", "v1"): [("customresourcedefinitions", "CustomResourceDefinition", False)],
}


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def timestamp(t=None):
    return (t or now()).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_error(code, reason, message, details=None):
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return web.json_response(body, status=code)


class ApiError(Exception):
    def __init__(self, code, reason, message):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def response(self):
        return status_error(self.code, self.reason, self.message)


class Resource:
    def __init__(self, group, version, plural, kind, namespaced, **extra):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced = namespaced
        self.singular = extra.get("singular") or kind.lower()
        self.short_names = extra.get("short_names") or []
        self.categories = extra.get("categories") or []
        self.status = extra.get("status", False)
        self.columns = extra.get("columns") or []
        self.list_kind = extra.get("list_kind") or kind + "List"

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    def discovery(self):
        out = [
            {
                "name": self.plural,
                "singularName": self.singular,
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                "shortNames": self.short_names,
                "categories": self.categories,
            }
        ]
        if self.status:
            out.append(
                {
                    "name": f"{self.plural}/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        return out


# --- patches -----------------------------------------------------------------------------------


def merge_patch(target, patch, strategic=False):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if strategic and key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value, strategic)
    return out


def pointer(path):
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def json_patch(doc, ops):
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = pointer(op["path"])
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1] if parts else None
        kind = op["op"]
        if kind == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if current != op.get("value"):
                raise ApiError(422, "Invalid", f"test operation on {op['path']} failed")
        elif kind in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                elif kind == "add":
                    parent.insert(int(last), op["value"])
                else:
                    parent[int(last)] = op["value"]
            else:
                if kind == "replace" and last not in parent:
                    raise ApiError(422, "Invalid", f"replace operation on missing {op['path']}")
                parent[last] = op["value"]
        elif kind == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            elif last in parent:
                del parent[last]
            else:
                raise ApiError(422, "Invalid", f"remove operation on missing {op['path']}")
        else:
            raise ApiError(422, "Invalid", f"json patch operation {kind} is not supported here")
    return doc


# --- selectors and JSONPath ----------------------------------------------------------------------


def label_matches(labels, selector):
    if not selector:
        return True
    labels = labels or {}
    for req in re.findall(r"(?:[^,(]|\([^)]*\))+", selector):
        req = req.strip()
        m = re.match(r"^(!?)([\w./-]+)\s*(?:(==|=|!=)\s*([\w./-]*)|\s+(in|notin)\s*\(([^)]*)\))?$", req)
        if not m:
            raise ApiError(400, "BadRequest", f"unable to parse label selector requirement {req!r}")
        neg, key, op, val, setop, values = m.groups()
        if op in ("=", "=="):
            ok = labels.get(key) == val
        elif op == "!=":
            ok = labels.get(key) != val
        elif setop:
            vals = {v.strip() for v in values.split(",")}
            ok = (labels.get(key) in vals) if setop == "in" else (labels.get(key) not in vals)
        else:
            ok = (key in labels) != bool(neg)
        if not ok:
            return False
    return True


def dotted(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def field_matches(obj, selector):
    if not selector:
        return True
    for req in selector.split(","):
        m = re.match(r"^([\w.]+)\s*(==|=|!=)\s*(.*)$", req.strip())
        if not m:
            raise ApiError(400, "BadRequest", f"unable to parse field selector {req!r}")
        path, op, val = m.groups()
        actual = dotted(obj, path)
        actual = "" if actual is None else str(actual)
        if (actual == val) != (op != "!="):
            return False
    return True


def jsonpath(obj, path):
    """The values at a printer column's path: `.a.b`, `[0]`, `[?(@.k=="v")]`."""
    values = [obj]
    for token in re.findall(r'\.[\w-]+|\[\?\(@\.[\w-]+\s*==\s*["\'][^"\']*["\']\)\]|\[\d+\]|\[\*\]', path):
        nxt = []
        for v in values:
            if token.startswith("."):
                if isinstance(v, dict) and token[1:] in v:
                    nxt.append(v[token[1:]])
            elif token == "[*]":
                if isinstance(v, list):
                    nxt.extend(v)
            elif token.startswith("[?"):
                m = re.match(r'\[\?\(@\.([\w-]+)\s*==\s*["\']([^"\']*)["\']\)\]', token)
                if isinstance(v, list):
                    nxt.extend(i for i in v if isinstance(i, dict) and str(i.get(m.group(1))) == m.group(2))
            else:
                if isinstance(v, list) and int(token[1:-1]) < len(v):
                    nxt.append(v[int(token[1:-1])])
        values = nxt
    return values


def human_duration(ts):
    """An age as kubectl prints it: 5s, 3m20s, 10m, 2h5m, 4d."""
    try:
        then = datetime.datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return str(ts)
    s = max(0, int((now() - then).total_seconds()))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 48:
        return f"{h}h{m % 60}m" if h < 8 and m % 60 else f"{h}h"
    return f"{h // 24}d"


def logged_query(query):
    """The query as a JSON object; a repeated parameter (exec's `command`) as a list."""
    out = {}
    for key in query:
        values = query.getall(key)
        out[key] = values[0] if len(values) == 1 else values
    return out


# --- the server ----------------------------------------------------------------------------------


class ApiServer:
    def __init__(self, requests_log=None):
        self.rv = 0
        self.resources = {}  # (group, version, plural) -> Resource
        self.objects = {}  # (group, plural) -> {(namespace, name): object}
        self.history = []  # (rv, (group, plural), type, object)
        self.changed = asyncio.Condition()
        self.requests_log = requests_log
        self.execs = {}  # pod uid -> the processes exec started in it
        for plural, kind, ns in CORE:
            self.add_resource(Resource("", "v1", plural, kind, ns))
        for (g, v), items in BUILTIN_GROUPS.items():
            for plural, kind, ns in items:
                crd = plural == "customresourcedefinitions"
                self.add_resource(Resource(g, v, plural, kind, ns, status=crd, short_names=["crd", "crds"] if crd else []))
        for name in ("default", "kube-system"):
            self.store(self.resources[("", "v1", "namespaces")], None, {"metadata": {"name": name}}, "ADDED")

    def add_resource(self, r):
        self.resources[(r.group, r.version, r.plural)] = r
        self.objects.setdefault((r.group, r.plural), {})

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def store(self, res, ns, obj, event):
        obj.setdefault("apiVersion", res.api_version)
        obj.setdefault("kind", res.kind)
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = self.next_rv()
        key = (ns, meta["name"])
        bucket = self.objects[(res.group, res.plural)]
        if event == "DELETED":
            bucket.pop(key, None)
        else:
            bucket[key] = obj
        self.history.append((int(meta["resourceVersion"]), (res.group, res.plural), event, copy.deepcopy(obj)))
        del self.history[:-HISTORY]
        if res.plural == "customresourcedefinitions":
            self.sync_crd(obj, event)
        if not res.group:
            self.kubelet_sees(res, ns, obj, event)
        asyncio.get_event_loop().create_task(self.notify())
        return obj

    async def notify(self):
        async with self.changed:
            self.changed.notify_all()

    def sync_crd(self, crd, event):
        spec = crd.get("spec", {})
        group, names = spec.get("group", ""), spec.get("names", {})
        for v in spec.get("versions", []):
            key = (group, v["name"], names.get("plural"))
            if event == "DELETED" or not v.get("served", True):
                self.resources.pop(key, None)
                continue
            self.add_resource(
                Resource(
                    group,
                    v["name"],
                    names["plural"],
                    names["kind"],
                    spec.get("scope", "Namespaced") == "Namespaced",
                    singular=names.get("singular"),
                    short_names=names.get("shortNames"),
                    categories=names.get("categories"),
                    list_kind=names.get("listKind"),
                    status="status" in (v.get("subresources") or {}),
                    columns=v.get("additionalPrinterColumns") or [],
                )
            )
        if event == "DELETED":
            self.objects.pop((group, names.get("plural")), None)
        elif not crd.get("status", {}).get("acceptedNames"):
            crd["status"] = {
                "acceptedNames": names,
                "storedVersions": [v["name"] for v in spec.get("versions", []) if v.get("storage")],
                "conditions": [
                    {"type": t, "status": "True", "reason": r, "lastTransitionTime": timestamp()}
                    for t, r in (("NamesAccepted", "NoConflicts"), ("Established", "InitialNamesAccepted"))
                ],
            }

    # --- routing ---

    async def handle(self, request):
        path = request.path.rstrip("/") or "/"
        accept = request.headers.get("Accept", "")
        self.log(request, accept)
        try:
            if path in ("/healthz", "/readyz", "/livez"):
                return web.Response(text="ok")
            if path == "/version":
                return web.json_response(
                    {"major": "1", "minor": "36", "gitVersion": "v1.36.0-toolkit-emulator", "platform": "linux/amd64"}
                )
            if path == "/api":
                return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
            if path == "/apis":
                return web.json_response(self.group_list())
            m = re.match(r"^/(?:api/(v1)|apis/([^/]+)/([^/]+))(/.*)?$", path)
            if not m:
                return status_error(404, "NotFound", f"the server could not find the requested resource ({path})")
            group, version = (m.group(2) or ""), (m.group(1) or m.group(3))
            rest = [p for p in (m.group(4) or "").split("/") if p]
            if not rest:
                return self.resource_list(group, version)
            ns = None
            if rest[0] == "namespaces" and len(rest) >= 3:
                ns, rest = rest[1], rest[2:]
            res = self.resources.get((group, version, rest[0]))
            if res is None or res.namespaced != (ns is not None) and not (res.namespaced and len(rest) == 1):
                return status_error(404, "NotFound", f"the server could not find the requested resource ({path})")
            name = rest[1] if len(rest) > 1 else None
            sub = rest[2] if len(rest) > 2 else None
            if (group, rest[0], sub) == ("", "pods", "exec") and len(rest) == 3 and request.method in ("GET", "POST"):
                return await self.exec(request, ns, name)
            if sub not in (None, "status") or (sub == "status" and not res.status):
                return status_error(404, "NotFound", f"the server could not find the requested resource ({path})")
            return await self.dispatch(request, res, ns, name, sub, accept)
        except ApiError as e:
            return e.response()

    def log(self, request, accept):
        if self.requests_log:
            with open(self.requests_log, "a") as f:
                shape = re.search(r"as=(\w+)", accept)
                f.write(
                    json.dumps(
                        {
                            "method": request.method,
                            "path": request.path,
                            "query": logged_query(request.query),
                            "as": shape.group(1) if shape else None,
                        }
                    )
                    + "\n"
                )

    def group_list(self):
        groups = {}
        for g, v, _ in self.resources:
            if g:
                groups.setdefault(g, [])
                if v not in groups[g]:
                    groups[g].append(v)
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": g,
                    "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                    "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
                }
                for g, vs in sorted(groups.items())
            ],
        }

    def resource_list(self, group, version):
        items = [r for (g, v, _), r in self.resources.items() if g == group and v == version]
        if not items:
            return status_error(404, "NotFound", f"the server could not find the requested resource")
        gv = f"{group}/{version}" if group else version
        return web.json_response(
            {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": gv,
                "resources": [d for r in items for d in r.discovery()],
            }
        )

    async def dispatch(self, request, res, ns, name, sub, accept):
        q = request.query
        method = request.method
        if method == "GET" and name is None:
            if q.get("watch") in ("1", "true"):
                return await self.watch(request, res, ns, accept)
            return self.list(res, ns, q, accept)
        if method == "GET":
            obj = self.get(res, ns, name)
            if "as=Table" in accept:
                return web.json_response(self.table(res, [obj], q))
            return web.json_response(self.shaped(obj, accept))
        if method == "POST" and name is None:
            body = await self.body(request)
            return web.json_response(self.create(res, ns, body), status=201)
        if method == "PUT" and name:
            body = await self.body(request)
            return web.json_response(self.replace(res, ns, name, sub, body))
        if method == "PATCH" and name:
            return await self.patch(request, res, ns, name, sub)
        if method == "DELETE" and name:
            return web.json_response(self.delete(res, ns, name))
        if method == "DELETE":
            for (ons, oname), _ in list(self.objects[(res.group, res.plural)].items()):
                if ns is None or ons == ns:
                    self.delete(res, ons, oname)
            return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success"})
        return status_error(405, "MethodNotAllowed", f"{method} is not supported here")

    async def body(self, request):
        text = await request.text()
        try:
            return json.loads(text)
        except ValueError:
            if yaml is None:
                raise ApiError(400, "BadRequest", "the body is not JSON")
            return yaml.safe_load(text)

    # --- verbs ---

    def get(self, res, ns, name):
        obj = self.objects[(res.group, res.plural)].get((ns, name))
        if obj is None:
            raise ApiError(404, "NotFound", f'{res.plural}.{res.group or "core"} "{name}" not found'.replace(".core", ""))
        return obj

    def visible(self, res, ns, q):
        items = []
        for (ons, _), obj in sorted(self.objects[(res.group, res.plural)].items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            if ns is not None and ons != ns:
                continue
            if not label_matches(obj["metadata"].get("labels"), q.get("labelSelector")):
                continue
            if not field_matches(obj, q.get("fieldSelector")):
                continue
            items.append(obj)
        return items

    def list(self, res, ns, q, accept):
        items = self.visible(res, ns, q)
        if "as=Table" in accept:
            return web.json_response(self.table(res, items, q))
        meta_only = "as=PartialObjectMetadataList" in accept
        return web.json_response(
            {
                "kind": "PartialObjectMetadataList" if meta_only else res.list_kind,
                "apiVersion": "meta.k8s.io/v1" if meta_only else res.api_version,
                "metadata": {"resourceVersion": str(self.rv)},
                "items": [self.shaped(o, accept) for o in items],
            }
        )

    def shaped(self, obj, accept):
        if "as=PartialObjectMetadata" in accept:
            return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": copy.deepcopy(obj["metadata"])}
        return obj

    def create(self, res, ns, body):
        meta = body.setdefault("metadata", {})
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise ApiError(422, "Invalid", "metadata.name: Required value: name or generateName is required")
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if res.namespaced:
            if meta.get("namespace") not in (None, ns):
                raise ApiError(400, "BadRequest", "the namespace of the object does not match the namespace of the request")
            meta["namespace"] = ns
        if (ns, meta["name"]) in self.objects[(res.group, res.plural)]:
            raise ApiError(409, "AlreadyExists", f'{res.plural} "{meta["name"]}" already exists')
        meta.pop("resourceVersion", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = timestamp()
        meta["generation"] = 1
        if res.status and res.plural != "customresourcedefinitions":
            body.pop("status", None)
        body["apiVersion"], body["kind"] = res.api_version, res.kind
        return self.store(res, ns, body, "ADDED")

    def replace(self, res, ns, name, sub, body, old=None):
        old = old or self.get(res, ns, name)
        given = (body.get("metadata") or {}).get("resourceVersion")
        if given and given != old["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res.plural} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
            )
        new = copy.deepcopy(body)
        if sub == "status":
            new = dict(copy.deepcopy(old), status=new.get("status"))
        else:
            if res.status:
                new.pop("status", None)
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
            meta = new.setdefault("metadata", {})
            for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if k in old["metadata"]:
                    meta[k] = old["metadata"][k]
            meta["name"], meta["namespace"] = name, ns
            if not res.namespaced:
                meta.pop("namespace", None)
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status")}
        if strip(new) != strip(old):
            new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            return self.store(res, ns, new, "DELETED")
        unversioned = lambda o: dict(o, metadata={k: v for k, v in o["metadata"].items() if k != "resourceVersion"})
        if unversioned(new) == unversioned(old):
            return old  # nothing changed: no new resourceVersion, no event
        return self.store(res, ns, new, "MODIFIED")

    async def patch(self, request, res, ns, name, sub):
        ctype = request.headers.get("Content-Type", "").split(";")[0]
        body = await self.body(request)
        objs = self.objects[(res.group, res.plural)]
        if ctype == "application/apply-patch+yaml" and (ns, name) not in objs:
            body.setdefault("metadata", {})["name"] = name
            return web.json_response(self.create(res, ns, body), status=201)
        old = self.get(res, ns, name)
        if ctype == "application/json-patch+json":
            new = json_patch(old, body)
        elif ctype in ("application/merge-patch+json", "application/apply-patch+yaml"):
            new = merge_patch(old, body)
        elif ctype == "application/strategic-merge-patch+json":
            new = merge_patch(old, body, strategic=True)
        else:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
        given = ((body if isinstance(body, dict) else {}).get("metadata") or {}).get("resourceVersion")
        if not given:
            new.setdefault("metadata", {})["resourceVersion"] = old["metadata"]["resourceVersion"]
        return web.json_response(self.replace(res, ns, name, sub, new, old))

    def delete(self, res, ns, name):
        obj = self.get(res, ns, name)
        if obj["metadata"].get("finalizers"):
            if not obj["metadata"].get("deletionTimestamp"):
                new = copy.deepcopy(obj)
                new["metadata"]["deletionTimestamp"] = timestamp()
                return self.store(res, ns, new, "MODIFIED")
            return obj
        gone = self.store(res, ns, copy.deepcopy(obj), "DELETED")
        self.collect_garbage(gone)
        return gone

    def collect_garbage(self, owner):
        """What the garbage collector does once an owner is gone (background propagation):
        delete the objects whose `ownerReferences` name it. Simplified: at once, within the
        owner's namespace, and even when a dependent names other owners still there."""
        uid, ns = owner["metadata"].get("uid"), owner["metadata"].get("namespace")
        kinds = {(r.group, r.plural): r for r in self.resources.values()}
        for key, res in kinds.items():
            for (ons, oname), obj in list(self.objects.get(key, {}).items()):
                refs = obj["metadata"].get("ownerReferences") or []
                if ons == ns and any(ref.get("uid") == uid for ref in refs) and (ons, oname) in self.objects[key]:
                    self.delete(res, ons, oname)

    # --- watch ---

    async def watch(self, request, res, ns, accept):
        q = request.query
        since = q.get("resourceVersion", "")
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true")
        timeout = float(q.get("timeoutSeconds") or 300)
        key = (res.group, res.plural)
        out = web.StreamResponse(headers={"Content-Type": "application/json"})
        await out.prepare(request)

        async def send(kind, obj):
            await out.write((json.dumps({"type": kind, "object": obj}) + "\n").encode())

        def wanted(obj):
            meta = obj["metadata"]
            return (
                (ns is None or meta.get("namespace") == ns)
                and label_matches(meta.get("labels"), q.get("labelSelector"))
                and field_matches(obj, q.get("fieldSelector"))
            )

        if since in ("", "0") or q.get("sendInitialEvents") == "true":
            for obj in self.visible(res, ns, q):
                await send("ADDED", self.shaped(obj, accept))
            last = self.rv
            if q.get("sendInitialEvents") == "true":
                await send("BOOKMARK", self.bookmark(res, last, initial=True))
        else:
            last = int(since)
            oldest = self.history[0][0] if self.history else 0
            # A version newer than any this server made: its state was lost (a restart), and
            # the client must list again, as after compaction.
            if last < oldest - 1 or last > self.rv:
                await send(
                    "ERROR",
                    {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410, "reason": "Expired",
                     "message": f"too old resource version: {last} ({oldest})"},
                )
                return out
        deadline = asyncio.get_event_loop().time() + timeout
        try:
            while True:
                for rv, k, kind, obj in [h for h in self.history if h[0] > last]:
                    last = rv
                    if k == key and wanted(obj):
                        await send(kind, self.shaped(obj, accept))
                remaining = deadline - asyncio.get_event_loop().time()
                if remaining <= 0:
                    break
                async with self.changed:
                    try:
                        await asyncio.wait_for(self.changed.wait(), min(remaining, 5))
                    except asyncio.TimeoutError:
                        if bookmarks:
                            await send("BOOKMARK", self.bookmark(res, max(last, self.rv)))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return out

    def bookmark(self, res, rv, initial=False):
        meta = {"resourceVersion": str(rv)}
        if initial:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}

    # --- the kubelet stand-in: pods run, exec runs commands here ---

    def kubelet_sees(self, res, ns, obj, event):
        """A new pod is started shortly after; a pod that waits for a Secret or ConfigMap is
        tried again when one appears in its namespace, as the kubelet retries."""
        pods = self.objects[("", "pods")]
        if res.plural == "pods" and event == "ADDED":
            targets = [obj]
        elif res.plural in ("secrets", "configmaps") and event != "DELETED":
            targets = [p for (pns, _), p in pods.items() if pns == ns and (p.get("status") or {}).get("phase") != "Running"]
        elif res.plural == "pods" and event == "DELETED":
            self.kill_execs(obj["metadata"].get("uid"))
            return
        else:
            return
        for pod in targets:
            meta = pod["metadata"]
            asyncio.get_event_loop().call_later(KUBELET_DELAY, self.start_pod, ns, meta["name"], meta["uid"])

    def start_pod(self, ns, name, uid):
        """Store the status the kubelet reports once it has started the pod's containers, or
        failed to make their configuration (a MODIFIED event, as for the kubelet's update)."""
        res = self.resources[("", "v1", "pods")]
        pod = self.objects[("", "pods")].get((ns, name))
        if pod is None or pod["metadata"].get("uid") != uid or pod["metadata"].get("deletionTimestamp"):
            return
        if (pod.get("status") or {}).get("phase") == "Running":
            return
        new = copy.deepcopy(pod)
        new["status"] = self.pod_status(new)
        if new["status"] != pod.get("status"):
            self.store(res, ns, new, "MODIFIED")

    def pod_status(self, pod):
        """Running with every container ready, or Pending when a container's environment names
        a Secret (ConfigMap) or key that is not there: the kubelet's CreateContainerConfigError.
        Init containers, images, probes and volumes are not looked at."""
        started = (pod.get("status") or {}).get("startTime") or timestamp()
        statuses, unready = [], []
        for c in (pod.get("spec") or {}).get("containers") or []:
            status = {"name": c.get("name", ""), "image": c.get("image", ""), "imageID": "", "restartCount": 0, "lastState": {}}
            try:
                self.container_env(pod, c)
            except ValueError as e:
                unready.append(status["name"])
                status.update(ready=False, started=False, state={"waiting": {"reason": "CreateContainerConfigError", "message": str(e)}})
            else:
                status.update(ready=True, started=True, containerID=f"emulator://{uuid.uuid4().hex}", state={"running": {"startedAt": timestamp()}})
            statuses.append(status)

        def condition(kind, ok):
            out = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None, "lastTransitionTime": timestamp()}
            if not ok:
                out["reason"] = "ContainersNotReady"
                out["message"] = f"containers with unready status: [{' '.join(unready)}]"
            return out

        ready = not unready
        return {
            "phase": "Running" if ready else "Pending",
            "conditions": [
                condition("PodScheduled", True),
                condition("Initialized", True),
                condition("ContainersReady", ready),
                condition("Ready", ready),
            ],
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "startTime": started,
            "containerStatuses": statuses,
            "qosClass": "BestEffort",
        }

    def container_env(self, pod, container):
        """The environment the kubelet makes for a container: `envFrom` Secrets and ConfigMaps,
        then `env` values, `secretKeyRef`s, `configMapKeyRef`s and `fieldRef`s. A missing
        source or key that is not `optional` raises ValueError with the kubelet's message."""
        ns = pod["metadata"].get("namespace")
        env = {}
        for src in container.get("envFrom") or []:
            kind, ref = ("Secret", src["secretRef"]) if src.get("secretRef") else ("ConfigMap", src.get("configMapRef"))
            data = self.env_source(ns, kind, ref.get("name", ""), ref.get("optional")) if ref else None
            for key, value in (data or {}).items():
                env[src.get("prefix", "") + key] = value
        for var in container.get("env") or []:
            source = var.get("valueFrom")
            if not source:
                env[var["name"]] = var.get("value", "")
            elif source.get("fieldRef"):
                value = dotted(pod, source["fieldRef"].get("fieldPath", ""))
                env[var["name"]] = "" if value is None else str(value)
            for kind, field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                ref = (source or {}).get(field)
                if not ref:
                    continue
                data = self.env_source(ns, kind, ref.get("name", ""), ref.get("optional"))
                if data is not None and ref.get("key") in data:
                    env[var["name"]] = data[ref["key"]]
                elif data is not None and not ref.get("optional"):
                    raise ValueError(f"couldn't find key {ref.get('key')} in {kind} {ns}/{ref.get('name', '')}")
        return env

    def env_source(self, ns, kind, name, optional):
        """The data of a Secret (base64-decoded, with `stringData`) or ConfigMap; None when an
        optional one is missing."""
        obj = self.objects[("", kind.lower() + "s")].get((ns, name))
        if obj is None:
            if optional:
                return None
            raise ValueError(f'{kind.lower()} "{name}" not found')
        data = dict(obj.get("data") or {})
        if kind == "Secret":
            data = {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
            data.update(obj.get("stringData") or {})  # a real server folds it into data on write
        return data

    def kill_execs(self, uid):
        """A pod's containers stop when it is deleted, and what exec started in them with them."""
        for proc in self.execs.pop(uid, set()):
            kill_group(proc)

    async def exec(self, request, ns, name):
        """`pods/exec` over a websocket with the channel protocols v4 and v5, the command run
        here (on a pseudo-terminal when `tty`), as the kubelet runs it in the container."""
        q = request.query
        res = self.resources[("", "v1", "pods")]
        try:
            pod = self.get(res, ns, name)
            container = exec_container(pod, q.get("container"))
            phase = (pod.get("status") or {}).get("phase", "Pending")
            if phase != "Running":
                raise ApiError(400, "BadRequest", f'container not found ("{container["name"]}"): pod {name} is {phase}, not Running')
            argv = q.getall("command", [])
            if not argv:
                raise ApiError(400, "BadRequest", "you must specify at least one command for the container")
            flags = {k: q.get(k) in ("1", "true") for k in ("stdin", "stdout", "stderr", "tty")}
            if not (flags["stdin"] or flags["stdout"] or flags["stderr"]):
                raise ApiError(400, "BadRequest", "you must specify at least 1 of stdin, stdout, stderr")
            if request.headers.get("Upgrade", "").lower() != "websocket":
                raise ApiError(400, "BadRequest", "Upgrade request required")
            protocol = exec_protocol(request.headers.get("Sec-WebSocket-Protocol", ""))
        except ApiError as e:
            return e.response()
        ws = web.WebSocketResponse(protocols=(protocol,), compress=False, autoping=True)
        await ws.prepare(request)
        await ExecSession(self, ws, protocol, pod, container, argv, **flags).run()
        return ws

    # --- tables ---

    def table(self, res, items, q):
        columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
        columns += [
            {
                "name": c["name"],
                "type": c.get("type", "string"),
                "format": c.get("format", ""),
                "description": c.get("description", ""),
                "priority": c.get("priority", 0),
            }
            for c in res.columns
        ]
        if not any(c["jsonPath"] == ".metadata.creationTimestamp" for c in res.columns):
            columns.append({"name": "Age", "type": "date", "format": "", "description": "", "priority": 0})
            specs = res.columns + [{"type": "date", "jsonPath": ".metadata.creationTimestamp"}]
        else:
            specs = res.columns
        rows = []
        for obj in items:
            cells = [obj["metadata"]["name"]]
            for c in specs:
                found = jsonpath(obj, c["jsonPath"])
                value = found[0] if found else None
                if value is not None and c.get("type") == "date":
                    value = human_duration(value)
                cells.append(value)
            whole = q.get("includeObject") == "Object"
            rows.append({"cells": cells, "object": obj if whole else self.shaped(obj, "as=PartialObjectMetadata")})
        return {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": str(self.rv)},
            "columnDefinitions": columns,
            "rows": rows,
        }


# --- exec: a command run for pods/exec ---------------------------------------------------------


def exec_container(pod, name):
    """The container exec runs in: the one named, or the only one (the API server's rule)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    pod_name = pod["metadata"]["name"]
    if not name:
        if len(containers) != 1:
            names = " ".join(c.get("name", "") for c in containers)
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {pod_name}, choose one of: [{names}]")
        return containers[0]
    for c in containers:
        if c.get("name") == name:
            return c
    raise ApiError(400, "BadRequest", f"container {name} is not valid for pod {pod_name}")


def exec_protocol(offered):
    """The best channel protocol the client offers (v5, which can close stdin, before v4)."""
    offered = [p.strip() for p in offered.split(",") if p.strip()]
    for p in EXEC_PROTOCOLS:
        if p in offered:
            return p
    raise ApiError(
        400,
        "BadRequest",
        f"requested protocol(s) are not supported: [{' '.join(offered)}]; supports [{' '.join(EXEC_PROTOCOLS)}]",
    )


def exit_status(argv, code):
    """The v1.Status the kubelet writes on the error channel when a command has ended."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command [{' '.join(argv)}], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def start_failure(command, error):
    """The status when the command could not be started (an InternalError from the kubelet,
    with the container runtime's words for a command that is not there)."""
    if isinstance(error, FileNotFoundError):
        error = f'exec: "{command}": executable file not found in $PATH'
    elif isinstance(error, OSError):
        error = f'exec: "{command}": {error.strerror}'
    cause = f"error executing command in container: failed to exec in container: {error}"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {cause}",
        "reason": "InternalError",
        "details": {"causes": [{"message": cause}]},
        "code": 500,
    }


def kill_group(proc):
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def controlling_terminal():
    """In the child, after setsid: its terminal (fd 0) becomes its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def set_size(fd, width, height):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


async def read_fd(fd):
    """The next bytes from a non-blocking terminal, b"" once its other side is closed (EIO)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
            try:
                await ready
            finally:
                loop.remove_reader(fd)
        except OSError:
            return b""


class ExecSession:
    """One exec: the process, the channels between it and the websocket, its exit status."""

    def __init__(self, server, ws, protocol, pod, container, argv, stdin, stdout, stderr, tty):
        self.server, self.ws, self.pod, self.container, self.argv = server, ws, pod, container, argv
        self.can_close = protocol == "v5.channel.k8s.io"
        self.stdin, self.stdout, self.stderr, self.tty = stdin, stdout, stderr and not tty, tty
        self.proc, self.terminal = None, None

    def environment(self):
        """The container's environment, with PATH and HOME from here when the pod sets none,
        and TERM for a terminal as the container runtime sets it."""
        env = self.server.container_env(self.pod, self.container)
        for key in ("PATH", "HOME"):
            if key not in env and key in os.environ:
                env[key] = os.environ[key]
        env.setdefault("HOSTNAME", self.pod["metadata"]["name"])
        if self.tty:
            env.setdefault("TERM", "xterm")
        return env

    async def start(self):
        cwd = self.container.get("workingDir") or "/"
        devnull = asyncio.subprocess.DEVNULL
        if self.tty:
            self.terminal, child = os.openpty()
            set_size(self.terminal, 80, 24)
            try:
                self.proc = await asyncio.create_subprocess_exec(
                    *self.argv, stdin=child, stdout=child, stderr=child, env=self.environment(), cwd=cwd,
                    start_new_session=True, preexec_fn=controlling_terminal,
                )
            finally:
                os.close(child)
            os.set_blocking(self.terminal, False)
        else:
            pipe = asyncio.subprocess.PIPE
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=pipe if self.stdin else devnull,
                stdout=pipe if self.stdout else devnull,
                stderr=pipe if self.stderr else devnull,
                env=self.environment(),
                cwd=cwd,
                start_new_session=True,
            )
        self.server.execs.setdefault(self.pod["metadata"]["uid"], set()).add(self.proc)

    async def send(self, channel, data):
        try:
            await self.ws.send_bytes(bytes([channel]) + data)
        except (ConnectionResetError, RuntimeError):
            pass  # the client has gone

    async def run(self):
        try:
            await self.start()
        except (OSError, ValueError) as e:
            self.close_terminal()
            await self.send(ERROR, json.dumps(start_failure(self.argv[0], e)).encode())
            await self.ws.close()
            return
        pumps = [asyncio.create_task(self.pump(read, channel)) for read, channel in self.outputs()]
        client = asyncio.create_task(self.from_client())
        code = await self.proc.wait()
        self.server.execs.get(self.pod["metadata"]["uid"], set()).discard(self.proc)
        if pumps:
            await asyncio.wait(pumps, timeout=EXEC_DRAIN)
        for task in pumps:
            task.cancel()
        await self.send(ERROR, json.dumps(exit_status(self.argv, 128 - code if code < 0 else code)).encode())
        await self.ws.close()
        client.cancel()
        self.close_terminal()

    def close_terminal(self):
        if self.terminal is not None:
            os.close(self.terminal)
            self.terminal = None

    def outputs(self):
        """(read, channel) of each output: the terminal (stdout and stderr at once) or pipes."""
        if self.tty:  # read even when stdout is not wanted, lest the command block on it
            return [(lambda: read_fd(self.terminal), STDOUT if self.stdout else None)]
        out = []
        if self.stdout:
            out.append((lambda: self.proc.stdout.read(65536), STDOUT))
        if self.stderr:
            out.append((lambda: self.proc.stderr.read(65536), STDERR))
        return out

    async def pump(self, read, channel):
        while data := await read():
            if channel is not None:
                await self.send(channel, data)

    async def from_client(self):
        """Stdin, resizes and (v5) the close of stdin from the client; the process is killed
        when the client goes away before it ends."""
        try:
            async for msg in self.ws:
                if msg.type == web.WSMsgType.BINARY and msg.data:
                    try:
                        await self.from_channel(msg.data[0], msg.data[1:])
                    except (ValueError, TypeError, AttributeError, OSError):
                        pass  # a malformed resize, or a process that has just ended
        finally:
            kill_group(self.proc)  # only ever running here when the client went first

    async def from_channel(self, channel, data):
        if channel == STDIN and self.stdin:
            await self.write_stdin(data)
        elif channel == RESIZE and self.tty and self.terminal is not None:
            size = json.loads(data)
            set_size(self.terminal, int(size.get("Width", 0)), int(size.get("Height", 0)))
        elif channel == CLOSE and self.can_close and data[:1] == bytes([STDIN]):
            self.close_stdin()

    async def write_stdin(self, data):
        if self.tty:
            while data:
                try:
                    data = data[os.write(self.terminal, data):]
                except BlockingIOError:
                    await asyncio.sleep(0.01)
            return
        try:
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def close_stdin(self):
        """A pipe is closed; a terminal is hung up, as the container runtime closes its
        console when the client's stdin ends."""
        if self.tty:
            try:
                os.killpg(self.proc.pid, signal.SIGHUP)
            except ProcessLookupError:
                pass
        elif self.proc.stdin:
            self.proc.stdin.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="where to write the port once listening")
    parser.add_argument("--requests", help="file to append one JSON line per request to")
    args = parser.parse_args()
    server = ApiServer(args.requests)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"kube-apiserver emulator on http://{args.host}:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
