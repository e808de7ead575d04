# A Kubernetes API stand-in for the kubernetes connector's tests (sourced by .ci/run): kmock's
# emulator (PyPI `kmock`), run by toolkit-connectors/kubernetes/tests/kmock_server.py on
# 127.0.0.1:16443 with seeded objects, a pod log, access reviews and a bearer token it checks.
# The token is random, made once and kept beside the server's log, so a server already running
# is reused with the token it was started with, unless it runs an older version of the script.
kube_dir=/tmp/toolkit-kmock
kube_port=16443
mkdir -p "$kube_dir"
if ! python3 -c 'import kmock' >/dev/null 2>&1; then
    python3 -m pip install -q kmock || python3 -m pip install -q --break-system-packages kmock
fi
if [[ ! -s $kube_dir/token ]]; then
    (umask 077; python3 -c 'import secrets; print("kmock-" + secrets.token_hex(16))' >"$kube_dir/token")
fi
kube_token=$(cat "$kube_dir/token")
kube_up() { curl -sf -H "Authorization: Bearer $kube_token" "http://127.0.0.1:$kube_port/version"; }
kube_script=toolkit-connectors/kubernetes/tests/kmock_server.py
kube_sum=$(sha256sum "$kube_script" | cut -c1-16)
if kube_up >/dev/null 2>&1 && [[ $(cat "$kube_dir/script" 2>/dev/null) != "$kube_sum" ]]; then
    pkill -f "kmock_server.py $kube_port" || true
    for _ in $(seq 50); do kube_up >/dev/null 2>&1 || break; sleep 0.1; done
fi
if ! kube_up >/dev/null 2>&1; then
    echo "$kube_sum" >"$kube_dir/script"
    TOOLKIT_KMOCK_TOKEN=$kube_token nohup setsid python3 "$kube_script" "$kube_port" \
        >"$kube_dir/server.log" 2>&1 </dev/null &
fi
wait_for kmock kube_up
export TOOLKIT_TEST_KUBE_APISERVER="http://127.0.0.1:$kube_port"
export TOOLKIT_TEST_KUBE_TOKEN="$kube_token"
