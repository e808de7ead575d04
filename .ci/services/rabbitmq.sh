# RabbitMQ for the rabbitmq connector's tests (sourced by .ci/run). The tests log in as guest,
# which RabbitMQ allows from loopback only, and make their own users and vhosts with rabbitmqctl.
need_pkg rabbitmq-server rabbitmq-server
rabbitmq_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! rabbitmq_up; then
    # Debian's package may start it already; otherwise start it detached (logs under
    # /var/log/rabbitmq).
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached >/tmp/rabbitmq-start.log 2>&1 || true
fi
wait_for rabbitmq rabbitmq_up
wait_for rabbitmq-app rabbitmq-diagnostics -q check_running
export TOOLKIT_TEST_RABBITMQ_HOST=127.0.0.1
export TOOLKIT_TEST_RABBITMQ_PORT=5672
export TOOLKIT_TEST_RABBITMQ_ADMIN_USER=guest
export TOOLKIT_TEST_RABBITMQ_ADMIN_PASSWORD=guest
