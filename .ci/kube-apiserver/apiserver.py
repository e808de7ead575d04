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
  CRD's printer columns (`kubectl get`).

Not emulated: authentication and authorization (every request is allowed), admission,
OpenAPI schemas and validation (kubectl needs `--validate=false`), field managers, and
pagination (a list returns everything).

Every request is appended as one JSON line to the file given with `--requests`, so a test can
check what a client asked for (for instance that no Secret's data was listed).

Usage: python3 apiserver.py --port PORT [--port-file FILE] [--requests FILE]
"""

import argparse
import asyncio
import copy
import datetime
import json
import re
import sys
import uuid

import aiohttp.web as web

try:
    import yaml
except ImportError:  # server-side apply bodies are JSON from kubectl and kube-rs
    yaml = None

HISTORY = 20000

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


# --- the server ----------------------------------------------------------------------------------


class ApiServer:
    def __init__(self, requests_log=None):
        self.rv = 0
        self.resources = {}  # (group, version, plural) -> Resource
        self.objects = {}  # (group, plural) -> {(namespace, name): object}
        self.history = []  # (rv, (group, plural), type, object)
        self.changed = asyncio.Condition()
        self.requests_log = requests_log
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
                            "query": dict(request.query),
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
        return self.store(res, ns, copy.deepcopy(obj), "DELETED")

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
        import os

        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"kube-apiserver emulator on http://{args.host}:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
