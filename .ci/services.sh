# Installs and starts the services the tests need when they are missing, and exports where they
# are (TOOLKIT_TEST_*). Sourced by .ci/run; source it yourself to run `cargo test` against the
# same services, from the repository root:
#
#     source .ci/services.sh && cargo test --workspace
#
# Needs root for apt-get and the services it starts. Safe to source again: what runs is reused.

log() { printf '\n==> [%ss] %s\n' "$SECONDS" "$*"; }

apt_updated=0
need_pkg() { # need_pkg COMMAND PACKAGE...
    if ! command -v "$1" >/dev/null 2>&1; then
        shift
        if [[ $apt_updated == 0 ]]; then apt-get update -qq; apt_updated=1; fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
}

wait_for() { # wait_for NAME COMMAND...
    local name=$1; shift
    for _ in $(seq 1 60); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    echo "$name did not become ready" >&2
    return 1
}

log "services"
need_pkg pg_isready postgresql postgresql-client
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
wait_for postgresql pg_isready -h 127.0.0.1 -p 5432
bash .ci/postgres-auth.sh

need_pkg redis-server redis-server redis-tools
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for redis redis-cli -h 127.0.0.1 -p 6379 ping

# MariaDB stands in for MySQL. Its root account authenticates over the unix socket; the tests
# connect over TCP as toolkit_admin, created here without a password for 127.0.0.1 only.
need_pkg mariadbd mariadb-server mariadb-client
if ! mariadb-admin ping >/dev/null 2>&1; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
fi
wait_for mariadb mariadb-admin ping
mariadb -u root -e "CREATE USER IF NOT EXISTS 'toolkit_admin'@'127.0.0.1';
    GRANT ALL ON *.* TO 'toolkit_admin'@'127.0.0.1' WITH GRANT OPTION;"

export TOOLKIT_TEST_PG_HOST=127.0.0.1
export TOOLKIT_TEST_PG_PORT=5432
export TOOLKIT_TEST_PG_ADMIN_USER=postgres
export TOOLKIT_TEST_MYSQL_HOST=127.0.0.1
export TOOLKIT_TEST_MYSQL_PORT=3306
export TOOLKIT_TEST_MYSQL_ADMIN_USER=toolkit_admin
export TOOLKIT_TEST_REDIS_HOST=127.0.0.1
export TOOLKIT_TEST_REDIS_PORT=6379
# The peer-format corpus: shared/compat beside this checkout, or beside the repository it was
# cloned from (a clone made elsewhere, such as a temporary folder).
if [[ -z ${TOOLKIT_COMPAT_DIR:-} ]]; then
    TOOLKIT_COMPAT_DIR="$(cd .. && pwd)/shared/compat"
    compat_origin=$(git remote get-url origin 2>/dev/null || true)
    if [[ ! -d $TOOLKIT_COMPAT_DIR && -n $compat_origin && -d $compat_origin/../shared/compat ]]; then
        TOOLKIT_COMPAT_DIR="$(cd "$compat_origin/../shared/compat" && pwd)"
    fi
fi
export TOOLKIT_COMPAT_DIR

log "python MCP SDK (the gateway's end-to-end tests)"
need_pkg python3 python3 python3-pip
if ! python3 -c 'import mcp' >/dev/null 2>&1; then
    python3 -m pip install -q mcp || python3 -m pip install -q --break-system-packages mcp
fi

log "a browser (the console's browser test): Debian's Chromium and chromedriver, and Selenium"
need_pkg chromium chromium chromium-driver
need_pkg chromedriver chromium-driver
if ! python3 -c 'import selenium' >/dev/null 2>&1; then
    python3 -m pip install -q selenium || python3 -m pip install -q --break-system-packages selenium
fi

log "MCP servers from npm (tests of the mcp connector and of registry imports)"
need_pkg node nodejs npm
mcp_npm=.ci/npm
mcp_scope="$mcp_npm/node_modules/@modelcontextprotocol"
if [[ ! -f $mcp_scope/server-everything/dist/index.js || ! -f $mcp_scope/server-filesystem/dist/index.js ]]; then
    npm install --prefix "$mcp_npm" --no-save --no-audit --no-fund --loglevel=error \
        @modelcontextprotocol/server-everything@2026.8.31 @modelcontextprotocol/server-filesystem@2026.8.31
fi
export TOOLKIT_TEST_MCP_EVERYTHING="$PWD/$mcp_scope/server-everything/dist/index.js"
export TOOLKIT_TEST_MCP_FILESYSTEM="$PWD/$mcp_scope/server-filesystem/dist/index.js"

log "MCP TypeScript SDK, Node 22 and the MCP conformance suite (the gateway's end-to-end tests)"
npm_get() { # npm_get PREFIX FILE PACKAGE: installs PACKAGE into PREFIX unless FILE is there
    if [[ ! -e $1/node_modules/$2 ]]; then
        npm install --prefix "$1" --no-save --no-audit --no-fund --loglevel=error "$3"
    fi
}
npm_get .ci/npm-sdk @modelcontextprotocol/sdk/package.json @modelcontextprotocol/sdk@1.32.2
npm_get .ci/node22 .bin/node node@22.23.3
npm_get .ci/conformance @modelcontextprotocol/conformance/dist/index.js @modelcontextprotocol/conformance@0.1.16
export TOOLKIT_TEST_NODE_MODULES="$PWD/.ci/npm-sdk/node_modules"
export TOOLKIT_TEST_NODE22="$PWD/.ci/node22/node_modules/.bin/node"
export TOOLKIT_TEST_CONFORMANCE="$PWD/.ci/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js"

log "an OpenID provider (the gateway's OAuth tests): oauth2-mock-server from npm"
npm_get .ci/oauth oauth2-mock-server/package.json oauth2-mock-server@9.3.0
export TOOLKIT_TEST_OAUTH_PROVIDER="$PWD/.ci/oauth/provider.mjs"

# Each connector whose tests need a server of their own starts it in .ci/services/<type>.sh:
# sourced here, so it can use need_pkg, wait_for and log, and export TOOLKIT_TEST_<TYPE>_*.
shopt -s nullglob
for svc in .ci/services/*.sh; do
    log "service for the $(basename "$svc" .sh) connector"
    # shellcheck source=/dev/null
    source "$svc"
done
shopt -u nullglob
