# Sourced by .ci/run: an OpenSSH server of its own on 127.0.0.1:22022 for the ssh connector's
# tests, with host keys, config and pid file under /tmp/toolkit-sshd, and a test user. The tests
# set the user's password (chpasswd) and install their own keys in $TOOLKIT_TEST_SSH_AUTHORIZED_KEYS.

ssh_dir=/tmp/toolkit-sshd
ssh_port=22022
ssh_user=toolkit-ssh

if [[ ! -x /usr/sbin/sshd ]]; then
    # Keep the package's own sshd on port 22 from being started: only ours is needed.
    ssh_policy_added=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        ssh_policy_added=1
    fi
    if [[ $apt_updated == 0 ]]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
    if [[ $ssh_policy_added == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
fi
need_pkg ssh-keyscan openssh-client

if ! id "$ssh_user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$ssh_user"
fi
# `!` (locked) would refuse key logins too while UsePAM is off; `*` matches no password.
if [[ $(getent shadow "$ssh_user" | cut -d: -f2) == '!'* ]]; then
    usermod -p '*' "$ssh_user"
fi

mkdir -p "$ssh_dir" /run/sshd
chmod 755 "$ssh_dir"
if [[ ! -f $ssh_dir/ssh_host_ed25519_key ]]; then
    ssh-keygen -q -t ed25519 -N '' -C toolkit-test-host -f "$ssh_dir/ssh_host_ed25519_key"
fi
touch "$ssh_dir/authorized_keys"
chmod 644 "$ssh_dir/authorized_keys"
cat >"$ssh_dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $ssh_port
HostKey $ssh_dir/ssh_host_ed25519_key
PidFile $ssh_dir/sshd.pid
AllowUsers $ssh_user
PasswordAuthentication yes
PubkeyAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
StrictModes no
AuthorizedKeysFile $ssh_dir/authorized_keys
MaxStartups 200
MaxSessions 50
MaxAuthTries 10
LoginGraceTime 30
LogLevel VERBOSE
CONF
# OpenSSH 9.8 and later slow down sources that fail to authenticate, which the tests do on purpose.
if /usr/sbin/sshd -T -f "$ssh_dir/sshd_config" -o PerSourcePenalties=no >/dev/null 2>&1; then
    echo 'PerSourcePenalties no' >>"$ssh_dir/sshd_config"
fi

if ! ssh-keyscan -T 2 -p "$ssh_port" 127.0.0.1 >/dev/null 2>&1; then
    /usr/sbin/sshd -f "$ssh_dir/sshd_config" -E "$ssh_dir/sshd.log"
fi
wait_for sshd ssh-keyscan -T 2 -p "$ssh_port" 127.0.0.1

export TOOLKIT_TEST_SSH_HOST=127.0.0.1
export TOOLKIT_TEST_SSH_PORT=$ssh_port
export TOOLKIT_TEST_SSH_USER=$ssh_user
export TOOLKIT_TEST_SSH_HOST_KEY=$ssh_dir/ssh_host_ed25519_key.pub
export TOOLKIT_TEST_SSH_AUTHORIZED_KEYS=$ssh_dir/authorized_keys
