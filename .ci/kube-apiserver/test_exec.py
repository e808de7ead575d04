"""Tests of the emulator's kubelet stand-in: pods that run, pods/exec, owners' cascade.

Run with `python3 .ci/kube-apiserver/test_exec.py` (stdlib unittest and aiohttp). The kubectl
test runs when kubectl is at $TOOLKIT_TEST_KUBECTL or on PATH.
"""

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import aiohttp

HERE = os.path.dirname(os.path.abspath(__file__))
KUBE_RS = ("v5.channel.k8s.io", "v4.channel.k8s.io")  # what kube-rs 2.0.1 offers, in its order
PASSWORD = "s3cr3t pass"


class Emulator:
    """The emulator on a free port, with its requests log."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="apiserver-test-")
        port_file = os.path.join(self.dir, "port")
        self.requests = os.path.join(self.dir, "requests.jsonl")
        self.log = open(os.path.join(self.dir, "apiserver.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "apiserver.py"), "--port", "0", "--port-file", port_file, "--requests", self.requests],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 20
        while not os.path.exists(port_file):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global EMULATOR
    EMULATOR = Emulator()


def tearDownModule():
    EMULATOR.stop()


def pod(name, env=None, owner=None):
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "psql", "image": "postgres:17", "env": env or []}]},
    }
    if owner:
        body["metadata"]["ownerReferences"] = [
            {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}
        ]
    return body


def secret_env(name="PGPASSWORD", secret="pg", key="password"):
    return [{"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}]


class Case(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.http = aiohttp.ClientSession(EMULATOR.url)
        # Each test has a namespace of its own (the emulator does not check that it exists).
        self.ns = self.id().rsplit(".", 1)[-1].replace("_", "-").lower()
        await self.call(
            "POST",
            f"/api/v1/namespaces/{self.ns}/secrets",
            {"metadata": {"name": "pg"}, "data": {"password": base64.b64encode(PASSWORD.encode()).decode()}},
        )

    async def asyncTearDown(self):
        await self.http.close()

    async def call(self, method, path, body=None, expect=None):
        async with self.http.request(method, path, json=body) as r:
            out = await r.json()
            if expect is not None:
                self.assertEqual(r.status, expect, out)
            elif r.status >= 400:
                self.fail(f"{method} {path}: {r.status} {out}")
            return out

    async def create_pod(self, body):
        return await self.call("POST", f"/api/v1/namespaces/{self.ns}/pods", body, expect=201)

    async def phase(self, name, want, timeout=5):
        deadline = time.time() + timeout
        while True:
            got = await self.call("GET", f"/api/v1/namespaces/{self.ns}/pods/{name}")
            if (got.get("status") or {}).get("phase") == want or time.time() > deadline:
                return got
            await asyncio.sleep(0.05)

    async def exec(self, name, command, tty=False, stdin=False, send=(), protocols=KUBE_RS, method="GET", close_stdin=False):
        """Run `command` in the pod; returns (protocol, {channel: bytes}, status)."""
        q = [("command", c) for c in command] + [("stdout", "true"), ("stderr", "true")]
        q += [("stdin", "true")] * stdin + [("tty", "true")] * tty
        url = f"/api/v1/namespaces/{self.ns}/pods/{name}/exec"
        out, status = {}, None
        async with self.http.ws_connect(url, params=q, protocols=protocols, method=method) as ws:
            for channel, data in send:
                await ws.send_bytes(bytes([channel]) + data)
            if close_stdin:
                await ws.send_bytes(bytes([255, 0]))
            async for msg in ws:
                self.assertEqual(msg.type, aiohttp.WSMsgType.BINARY)
                channel, data = msg.data[0], msg.data[1:]
                if channel == 3:
                    status = json.loads(data)
                else:
                    out[channel] = out.get(channel, b"") + data
            return ws.protocol, out, status


class PodsRun(Case):
    async def test_a_created_pod_becomes_running_as_a_watch_sees(self):
        created = await self.create_pod(pod("bastion", secret_env()))
        rv = created["metadata"]["resourceVersion"]
        watch = f"/api/v1/namespaces/{self.ns}/pods?watch=true&resourceVersion={rv}&timeoutSeconds=5"
        async with self.http.get(watch) as r:
            event = json.loads(await r.content.readline())
        self.assertEqual(event["type"], "MODIFIED")
        status = event["object"]["status"]
        self.assertEqual(status["phase"], "Running")
        self.assertEqual(
            {c["type"]: c["status"] for c in status["conditions"]},
            {"PodScheduled": "True", "Initialized": "True", "ContainersReady": "True", "Ready": "True"},
        )
        [c] = status["containerStatuses"]
        self.assertEqual((c["name"], c["ready"], c["started"]), ("psql", True, True))
        self.assertIn("startedAt", c["state"]["running"])
        self.assertEqual(status["podIP"], "127.0.0.1")
        self.assertIn("startTime", status)

    async def test_a_missing_secret_or_key_keeps_the_pod_pending(self):
        await self.create_pod(pod("no-secret", secret_env(secret="absent")))
        await self.create_pod(pod("no-key", secret_env(key="nokey")))
        await self.create_pod(pod("optional", [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k", "optional": True}}}]))
        await asyncio.sleep(0.6)
        for name, message in (
            ("no-secret", 'secret "absent" not found'),
            ("no-key", f"couldn't find key nokey in Secret {self.ns}/pg"),
        ):
            got = await self.phase(name, "Pending", timeout=0)
            self.assertEqual(got["status"]["phase"], "Pending")
            [c] = got["status"]["containerStatuses"]
            self.assertEqual(c["state"]["waiting"], {"reason": "CreateContainerConfigError", "message": message})
            self.assertFalse(c["ready"])
        self.assertEqual((await self.phase("optional", "Running"))["status"]["phase"], "Running")
        # The kubelet tries again: once the Secret is there, the pod starts.
        await self.call("POST", f"/api/v1/namespaces/{self.ns}/secrets", {"metadata": {"name": "absent"}, "stringData": {"password": "x"}})
        self.assertEqual((await self.phase("no-secret", "Running"))["status"]["phase"], "Running")

    async def test_deleting_the_owning_lease_deletes_the_pod(self):
        lease = await self.call(
            "POST",
            f"/apis/coordination.k8s.io/v1/namespaces/{self.ns}/leases",
            {"metadata": {"name": "session"}, "spec": {"holderIdentity": "cli", "leaseDurationSeconds": 30}},
        )
        await self.create_pod(pod("owned", owner=lease))
        await self.create_pod(pod("bystander"))
        await self.call("DELETE", f"/apis/coordination.k8s.io/v1/namespaces/{self.ns}/leases/session")
        await self.call("GET", f"/api/v1/namespaces/{self.ns}/pods/owned", expect=404)
        await self.call("GET", f"/api/v1/namespaces/{self.ns}/pods/bystander", expect=200)


class Exec(Case):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        await self.create_pod(pod("bastion", secret_env()))
        self.assertEqual((await self.phase("bastion", "Running"))["status"]["phase"], "Running")

    async def test_without_tty_stdout_stderr_and_exit_code_have_channels_of_their_own(self):
        command = ["sh", "-c", "echo $PGPASSWORD; echo err >&2; exit 3"]
        protocol, out, status = await self.exec("bastion", command)
        self.assertEqual(protocol, "v5.channel.k8s.io")
        self.assertEqual(out.get(1), f"{PASSWORD}\n".encode())
        self.assertEqual(out.get(2), b"err\n")
        self.assertEqual(
            status,
            {
                "metadata": {},
                "status": "Failure",
                "message": "command terminated with non-zero exit code: error executing command "
                "[sh -c echo $PGPASSWORD; echo err >&2; exit 3], exit code 3",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
            },
        )

    async def test_v4_when_the_client_offers_only_it_and_post_works_too(self):
        protocol, out, status = await self.exec("bastion", ["true"], protocols=("v4.channel.k8s.io",), method="POST")
        self.assertEqual((protocol, status), ("v4.channel.k8s.io", {"metadata": {}, "status": "Success"}))

    async def test_with_tty_stdin_is_typed_and_resizes_are_honoured(self):
        resize = (4, json.dumps({"Width": 100, "Height": 40}).encode())
        send = [(4, b"not a size"), resize, (0, b"stty size; echo hi $TERM; exit\n")]
        _, out, status = await self.exec("bastion", ["sh"], tty=True, stdin=True, send=send)
        # The terminal echoes what is typed, and the shell's prompt may come before an output.
        lines = out.get(1, b"").decode().splitlines()
        self.assertTrue(any(line.endswith("40 100") for line in lines), out)
        self.assertTrue(any(line.endswith("hi xterm") and "echo" not in line for line in lines), out)
        self.assertNotIn(2, out)  # a terminal has one output
        self.assertEqual(status, {"metadata": {}, "status": "Success"})

    async def test_v5_closing_stdin_ends_the_input_of_the_command(self):
        _, out, status = await self.exec("bastion", ["cat"], stdin=True, send=[(0, b"to cat\n")], close_stdin=True)
        self.assertEqual(out.get(1), b"to cat\n")
        self.assertEqual(status["status"], "Success")

    async def test_the_process_is_killed_when_the_client_goes(self):
        url = f"/api/v1/namespaces/{self.ns}/pods/bastion/exec"
        q = [("command", "sh"), ("command", "-c"), ("command", "echo $$; exec sleep 60"), ("stdout", "true")]
        async with self.http.ws_connect(url, params=q, protocols=KUBE_RS) as ws:
            msg = await ws.receive()
            pid = int(msg.data[1:])
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.05)
        else:
            self.fail(f"process {pid} still runs")

    async def test_errors(self):
        url = f"/api/v1/namespaces/{self.ns}/pods/%s/exec?command=true&stdout=true"
        for name, code in (("nowhere", 404),):
            with self.assertRaises(aiohttp.WSServerHandshakeError) as e:
                await self.http.ws_connect(url % name, protocols=KUBE_RS)
            self.assertEqual(e.exception.status, code)
        await self.create_pod(pod("waiting", secret_env(secret="absent")))
        await asyncio.sleep(0.4)
        with self.assertRaises(aiohttp.WSServerHandshakeError) as e:
            await self.http.ws_connect(url % "waiting", protocols=KUBE_RS)
        self.assertEqual(e.exception.status, 400)
        with self.assertRaises(aiohttp.WSServerHandshakeError) as e:
            await self.http.ws_connect(url % "bastion", protocols=("channel.k8s.io",))
        self.assertEqual(e.exception.status, 400)
        _, _, status = await self.exec("bastion", ["/no/such/command"])
        self.assertEqual((status["status"], status["reason"]), ("Failure", "InternalError"))
        self.assertIn('exec: "/no/such/command"', status["message"])

    async def test_exec_requests_are_logged_with_the_whole_command(self):
        await self.exec("bastion", ["sh", "-c", "true"])
        with open(EMULATOR.requests) as f:
            logged = [json.loads(line) for line in f]
        path = f"/api/v1/namespaces/{self.ns}/pods/bastion/exec"
        self.assertIn(["sh", "-c", "true"], [r["query"].get("command") for r in logged if r["path"] == path])

    async def test_kubectl_exec(self):
        kubectl = os.environ.get("TOOLKIT_TEST_KUBECTL") or shutil.which("kubectl")
        if not kubectl:
            self.skipTest("no kubectl")
        config = os.path.join(EMULATOR.dir, f"kubeconfig-{self.ns}")
        with open(config, "w") as f:
            json.dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "emulator", "cluster": {"server": EMULATOR.url}}],
                    "users": [{"name": "test", "user": {}}],
                    "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "test", "namespace": self.ns}}],
                    "current-context": "emulator",
                },
                f,
            )
        env = dict(os.environ, KUBECONFIG=config)

        def run(*args):
            return subprocess.run([kubectl, *args], env=env, capture_output=True, text=True, timeout=60)

        # kubectl waits for its result in a thread, so the loop of this test stays free.
        done = await asyncio.to_thread(run, "exec", "bastion", "--", "sh", "-c", "echo $PGPASSWORD")
        self.assertEqual((done.returncode, done.stdout), (0, f"{PASSWORD}\n"), done.stderr)
        done = await asyncio.to_thread(run, "exec", "-i", "bastion", "--", "sh", "-c", "cat; exit 5")
        self.assertEqual(done.returncode, 5, done.stderr)
        self.assertIn("command terminated with exit code 5", done.stderr)


if __name__ == "__main__":
    unittest.main()
