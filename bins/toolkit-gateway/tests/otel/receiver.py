"""An OTLP/HTTP receiver and an upstream HTTP API, for the gateway's tracing test.

    receiver.py DIR

Serves, on two free loopback ports:
- OTLP over HTTP with the JSON encoding of the OTLP protobuf messages
  (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`): each POST to /v1/traces or /v1/metrics is appended
  as one line to DIR/traces.jsonl or DIR/metrics.jsonl;
- an API that answers every request with {"ok": true} and appends its headers as one line to
  DIR/upstream.jsonl.

Prints one JSON line {"otlp": URL, "upstream": URL} once both listen.
"""

import asyncio
import json
import pathlib
import sys

from aiohttp import web


async def main(out):
    async def otlp(request):
        signal = request.match_info["signal"]
        body = await request.json()
        with (out / f"{signal}.jsonl").open("a") as f:
            f.write(json.dumps(body) + "\n")
        return web.json_response({})

    async def upstream(request):
        with (out / "upstream.jsonl").open("a") as f:
            f.write(json.dumps({k.lower(): v for k, v in request.headers.items()}) + "\n")
        return web.json_response({"ok": True})

    collector = web.Application()
    collector.router.add_post("/v1/{signal}", otlp)
    api = web.Application()
    api.router.add_route("*", "/{tail:.*}", upstream)
    urls = {}
    for name, app in (("otlp", collector), ("upstream", api)):
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        urls[name] = f"http://127.0.0.1:{port}"
    print(json.dumps(urls), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(pathlib.Path(sys.argv[1])))
