# bench/lib/sshd.sh — sourced by bench/run.sh: the bench user and the
# benchmark's own sshd (127.0.0.1, a free port, its own config and keys).
#
# Needs: STATE (cache dir), BENCH_USER, NICE_CMD (array, may be empty). Sets: SSH_PORT, SSHD_PID, CLIENT_KEY,
# KNOWN_HOSTS, SSHD_CGROUP. The sshd is stopped by stop_sshd (run.sh's EXIT trap).

ensure_bench_user() {
  if ! id "$BENCH_USER" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh "$BENCH_USER"
  fi
  # useradd leaves the password field '!': a locked account, which sshd
  # refuses even for keys when UsePAM is off. '*' = no password, not locked.
  usermod -p '*' "$BENCH_USER"
  local home
  home=$(getent passwd "$BENCH_USER" | cut -d: -f6)
  install -d -m 700 -o "$BENCH_USER" -g "$BENCH_USER" "$home/.ssh"
  install -m 600 -o "$BENCH_USER" -g "$BENCH_USER" "$CLIENT_KEY.pub" "$home/.ssh/authorized_keys"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# sshd_cgroup: puts the listener (before any session) into its own CPU
# accounting cgroup, so that every session process and command it starts is
# counted exactly, however short-lived (sshd's own reaping does not add the
# sessions' CPU to the listener's cutime). Empty SSHD_CGROUP when unavailable.
sshd_cgroup() {
  SSHD_CGROUP=
  local cg
  for cg in /sys/fs/cgroup/cpuacct/oplay-bench-sshd /sys/fs/cgroup/oplay-bench-sshd; do
    if [ -d "$(dirname "$cg")" ] && mkdir -p "$cg" 2>/dev/null \
        && echo "$SSHD_PID" >"$cg/cgroup.procs" 2>/dev/null; then
      SSHD_CGROUP=$cg
      return 0
    fi
  done
  echo "bench: warning: no cgroup for CPU accounting; target CPU is approximate" >&2
}

start_sshd() {
  local dir=$STATE/sshd
  mkdir -p "$dir"
  CLIENT_KEY=$dir/client_ed25519
  KNOWN_HOSTS=$dir/known_hosts
  [ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C oplay-bench-host -f "$dir/host_ed25519"
  [ -f "$CLIENT_KEY" ] || ssh-keygen -q -t ed25519 -N '' -C oplay-bench-client -f "$CLIENT_KEY"
  ensure_bench_user
  mkdir -p /run/sshd   # privilege separation directory
  SSH_PORT=$(free_port)
  cat >"$dir/sshd_config" <<EOF
# oplay benchmark sshd (bench/lib/sshd.sh); MaxStartups and MaxSessions left at their defaults
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
UsePAM no
PermitRootLogin no
AllowUsers $BENCH_USER
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile .ssh/authorized_keys
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel ERROR
EOF
  /usr/sbin/sshd -t -f "$dir/sshd_config"
  "${NICE_CMD[@]}" /usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" &
  SSHD_PID=$!
  sshd_cgroup
  echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1-2 "$dir/host_ed25519.pub")" >"$KNOWN_HOSTS"
  local i
  for ((i = 0; i < 50; i++)); do
    if ssh -q -o BatchMode=yes -o UserKnownHostsFile="$KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
        -i "$CLIENT_KEY" -p "$SSH_PORT" "$BENCH_USER@127.0.0.1" true 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  cat "$dir/sshd.log" >&2
  die "the benchmark sshd on 127.0.0.1:$SSH_PORT does not accept $BENCH_USER's key"
}

stop_sshd() {
  if [ -n "${SSHD_PID:-}" ]; then
    kill "$SSHD_PID" 2>/dev/null || true
    wait "$SSHD_PID" 2>/dev/null || true
    SSHD_PID=
  fi
  if [ -n "${SSHD_CGROUP:-}" ]; then
    rmdir "$SSHD_CGROUP" 2>/dev/null || true
  fi
}
