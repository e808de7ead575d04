# Elasticsearch stand-in: osmem-server, an in-memory OpenSearch-compatible server (PyPI wheel with
# a static binary), on 127.0.0.1:9201. It has no authentication and no security API.
# Sourced by .ci/run, which defines need_pkg, wait_for and log.
es_url=http://127.0.0.1:9201
es_ping() { curl -sf "$es_url/_cluster/health" >/dev/null; }
need_pkg python3 python3 python3-pip
need_pkg curl curl
if ! python3 -c 'import osmem_server' >/dev/null 2>&1; then
    python3 -m pip install -q osmem-server || python3 -m pip install -q --break-system-packages osmem-server
fi
if ! es_ping; then
    es_bin=$(python3 -c 'import osmem_server; print(osmem_server.resolve_binary())')
    log "starting osmem-server on $es_url"
    nohup "$es_bin" --addr 127.0.0.1:9201 --no-stdin-watch --no-ja </dev/null >/tmp/osmem-ci.log 2>&1 &
fi
wait_for osmem-server es_ping
export TOOLKIT_TEST_ES_URL=$es_url
