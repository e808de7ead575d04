# MongoDB stand-in: nx-27017, a MongoDB-wire server on SQLite (PyPI), in memory on 127.0.0.1:27117.
# It has no authentication, users or roles (see toolkit-connectors/mongodb/README.md).
# Sourced by .ci/run, which defines need_pkg, wait_for and log.
mongodb_port=27117
mongodb_ping() {
    python3 -c 'import sys; from pymongo import MongoClient
MongoClient("127.0.0.1", int(sys.argv[1]), serverSelectionTimeoutMS=1000).admin.command("ping")' "$mongodb_port"
}
need_pkg python3 python3 python3-pip
if ! command -v nx-27017 >/dev/null 2>&1 && ! python3 -c 'import nx_27017' >/dev/null 2>&1; then
    python3 -m pip install -q nx-27017 || python3 -m pip install -q --break-system-packages nx-27017
fi
if ! mongodb_ping >/dev/null 2>&1; then
    log "starting nx-27017 on 127.0.0.1:$mongodb_port"
    nohup python3 -m nx_27017.nx_27017 --db memory --host 127.0.0.1 -p "$mongodb_port" \
        --log-file /tmp/nx-27017-ci.log --pid-file /tmp/nx-27017-ci.pid </dev/null >/tmp/nx-27017-ci.out 2>&1 &
fi
wait_for nx-27017 mongodb_ping
export TOOLKIT_TEST_MONGODB_HOST=127.0.0.1
export TOOLKIT_TEST_MONGODB_PORT=$mongodb_port
