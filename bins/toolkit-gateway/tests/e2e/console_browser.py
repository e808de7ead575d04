"""The gateway's web console in a real browser: headless Chromium driven by Selenium
(chromedriver), beside the official MCP Python SDK as the agent.

Run by bins/toolkit-gateway/tests/console_browser.rs, which starts the gateway with a tokens file
(`ops` and `agent`, both approvers) and a tool `guarded` that waits for approval:

    console_browser.py --url http://127.0.0.1:PORT --ops TOKEN --agent TOKEN --out DIR

The agent calls `guarded` three times while the operator, signed in to the console, sees each
request appear on its own (the page refreshes itself), approves the first (the agent's call
succeeds), rejects the second with a reason (the agent reads it); the agent, signed in as
itself, sees its own third call without an Approve button; the audit page filters to the tool.
Every page is saved as a PNG at 1280 and 390 pixels wide, and no page may be wider than the
window. Prints {"ok": true, ...} on success; exits non-zero with a message on the first failure.
"""

import argparse
import asyncio
import contextlib
import json
import pathlib
import sys
import time
import traceback

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from selenium import webdriver
from selenium.webdriver.common.by import By

WAIT = 30.0


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def browser():
    options = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"]:
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


def wait_until(what, predicate, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Console:
    def __init__(self, url, out):
        self.url = url.rstrip("/")
        self.out = out
        self.driver = browser()
        self.shots = []

    def sign_in(self, token):
        self.driver.delete_all_cookies()
        self.driver.get(f"{self.url}/ui/login")
        self.driver.find_element(By.NAME, "token").send_keys(token)
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/ui/login'] button[type=submit]").click()
        wait_until("the signed-in page", lambda: "/ui/login" not in self.driver.current_url)

    def row(self, request_id):
        rows = self.driver.find_elements(By.ID, f"approval-{request_id}")
        return rows[0] if rows else None

    def pending_ids(self):
        rows = self.driver.find_elements(By.CSS_SELECTOR, "#pending tr[id^='approval-']")
        return [int(r.get_attribute("id").split("-")[1]) for r in rows]

    def shoot(self, name):
        """Saves the page at 1280 and 390 pixels wide; the page must fit the window at both."""
        for width in (1280, 390):
            self.driver.set_window_size(width, 900)
            time.sleep(0.2)
            overflow = self.driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            check(overflow <= 1, f"{name} at {width}px is {overflow}px wider than the window")
            path = self.out / f"{name}-{width}.png"
            self.driver.save_screenshot(str(path))
            self.shots.append(path.name)
        self.driver.set_window_size(1280, 900)


@contextlib.asynccontextmanager
async def agent(url, token):
    async def transport():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            async with streamable_http_client(f"{url}/mcp", http_client=http) as streams:
                yield streams

    async with Client(contextlib.asynccontextmanager(transport)(), mode="legacy") as client:
        yield client


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def main(args):
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ops = Console(args.url, out)
    own = Console(args.url, out)
    report = {}
    try:
        await asyncio.to_thread(ops.sign_in, args.ops)
        await asyncio.to_thread(ops.driver.get, f"{args.url}/ui/approvals")
        async with agent(args.url, args.agent) as client:
            # 1. Seen while the agent waits, without reloading; approved; the call succeeds.
            call = asyncio.create_task(client.call_tool("guarded", {"n": 1}))
            first = await asyncio.to_thread(wait_until, "the first request on the page", lambda: ops.pending_ids())
            request_id = first[0]
            await asyncio.to_thread(ops.shoot, "approvals")
            row = ops.row(request_id)
            check("guarded" in row.text and "token:agent" in row.text, f"the row says {row.text!r}")
            row.find_element(By.CSS_SELECTOR, "button.approve").click()
            result = await asyncio.wait_for(call, WAIT)
            check(not result.is_error, f"the approved call failed: {text_of(result)}")

            # 2. Rejected with a reason, which the agent reads.
            await asyncio.to_thread(ops.driver.get, f"{args.url}/ui/approvals")
            call = asyncio.create_task(client.call_tool("guarded", {"n": 2}))
            second = await asyncio.to_thread(
                wait_until, "the second request", lambda: [i for i in ops.pending_ids() if i != request_id]
            )
            row = ops.row(second[0])
            row.find_element(By.NAME, "reason").send_keys("not during the freeze")
            row.find_element(By.CSS_SELECTOR, "button.reject").click()
            result = await asyncio.wait_for(call, WAIT)
            check(result.is_error, "the rejected call succeeded")
            check("not during the freeze" in text_of(result), f"the agent read {text_of(result)!r}")
            report["rejected"] = text_of(result)

            # 3. The agent, an approver too, cannot approve its own call.
            call = asyncio.create_task(client.call_tool("guarded", {"n": 3}))
            await asyncio.to_thread(own.sign_in, args.agent)
            await asyncio.to_thread(own.driver.get, f"{args.url}/ui/approvals")
            third = await asyncio.to_thread(
                wait_until, "the third request", lambda: [i for i in own.pending_ids() if i > second[0]]
            )
            row = own.row(third[0])
            check("your own call" in row.text, f"the agent's own row says {row.text!r}")
            check(not row.find_elements(By.CSS_SELECTOR, "button.approve"), "the agent may approve its own call")
            await asyncio.to_thread(own.shoot, "approvals-own")
            # The operator lets it go, so the agent's call ends.
            await asyncio.to_thread(ops.driver.get, f"{args.url}/ui/approvals")
            ops.row(third[0]).find_element(By.CSS_SELECTOR, "button.approve").click()
            result = await asyncio.wait_for(call, WAIT)
            check(not result.is_error, f"the third call failed: {text_of(result)}")

        # 4. The audit log, filtered to the tool; the tools and sessions pages.
        await asyncio.to_thread(ops.driver.get, f"{args.url}/ui/audit?tool=default/guarded")
        rows = ops.driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
        check(len(rows) >= 3, f"{len(rows)} audit rows for guarded")
        check(all("guarded" in r.text for r in rows), "the filter let other tools through")
        check(any("rejected by token:ops" in r.text for r in rows), "the rejection is not in the audit page")
        await asyncio.to_thread(ops.shoot, "audit")
        for page in ("tools", "sessions"):
            await asyncio.to_thread(ops.driver.get, f"{args.url}/ui/{page}")
            await asyncio.to_thread(ops.shoot, page)
        await asyncio.to_thread(ops.driver.get, f"{args.url}/ui/tools/default/guarded")
        await asyncio.to_thread(ops.shoot, "tool")
        report["screenshots"] = ops.shots + own.shots
        report["pages"] = [ops.driver.page_source]
    finally:
        ops.driver.quit()
        own.driver.quit()
    print(json.dumps({"ok": True, "screenshots": report["screenshots"], "rejected": report["rejected"]}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ops", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--out", required=True)
    try:
        asyncio.run(main(parser.parse_args()))
    except Exception as e:  # noqa: BLE001 - the test shows what went wrong
        causes = e.exceptions if isinstance(e, BaseExceptionGroup) else [e]
        for cause in causes:
            traceback.print_exception(cause, file=sys.stderr)
        sys.exit(1)
