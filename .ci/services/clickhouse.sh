# ClickHouse (Debian's clickhouse-server, 18.16) for the clickhouse connector's tests (sourced by
# .ci/run): a minimal config under /tmp/toolkit-clickhouse, HTTP on 127.0.0.1:18123 and native
# TCP on 127.0.0.1:19000. Users: `default` (no password, loopback only: the tests' admin, which
# makes their databases) and `toolkit`, whose password is random, made when the config is first
# written and kept beside it, so a server already running is reused with the same password.
need_pkg clickhouse-server clickhouse-server
ch_dir=/tmp/toolkit-clickhouse
ch_http=18123
ch_tcp=19000
ch_bin=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
ch_up() { [[ $(curl -s "http://127.0.0.1:$ch_http/ping") == "Ok." ]]; }
mkdir -p "$ch_dir/data" "$ch_dir/tmp" "$ch_dir/log"
if [[ ! -s $ch_dir/password ]]; then
    (umask 077; python3 -c 'import secrets; print("ch-" + secrets.token_hex(16))' >"$ch_dir/password")
fi
ch_password=$(cat "$ch_dir/password")
if ! ch_up; then
    ch_sha=$(printf '%s' "$ch_password" | sha256sum | cut -d' ' -f1)
    cat >"$ch_dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$ch_dir/log/server.log</log>
        <errorlog>$ch_dir/log/error.log</errorlog>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$ch_http</http_port>
    <tcp_port>$ch_tcp</tcp_port>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>50</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>$ch_dir/data/</path>
    <tmp_path>$ch_dir/tmp/</tmp_path>
    <format_schema_path>$ch_dir/format_schemas/</format_schema_path>
    <users_config>$ch_dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
XML
    cat >"$ch_dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default><max_memory_usage>2000000000</max_memory_usage></default>
        <readonly><readonly>1</readonly></readonly>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <toolkit>
            <password_sha256_hex>$ch_sha</password_sha256_hex>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </toolkit>
        <toolkit_ro>
            <password_sha256_hex>$ch_sha</password_sha256_hex>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>readonly</profile>
            <quota>default</quota>
        </toolkit_ro>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
    </interval></default></quotas>
</yandex>
XML
    (cd "$ch_dir" && nohup setsid "$ch_bin" --config-file="$ch_dir/config.xml" \
        >"$ch_dir/log/stdout.log" 2>&1 </dev/null &)
fi
wait_for clickhouse ch_up
export TOOLKIT_TEST_CLICKHOUSE_HOST=127.0.0.1
export TOOLKIT_TEST_CLICKHOUSE_PORT=$ch_http
export TOOLKIT_TEST_CLICKHOUSE_USER=toolkit
export TOOLKIT_TEST_CLICKHOUSE_PASSWORD="$ch_password"
