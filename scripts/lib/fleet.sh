# Shared by scripts/demo and bench/run (sourced, not run): start a private redis-server and
# a supervisor on loopback, and stop them again. Callers set -euo pipefail themselves.
#
# Globals set here: fleet_redis_pid, fleet_supervisor_pid, fleet_redis_url.

fleet_redis_pid=
fleet_supervisor_pid=
fleet_redis_url=

# A TCP port on 127.0.0.1 that nothing listens on right now: the kernel's pick for port 0.
fleet_free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# fleet_start_redis DIR: a throwaway redis-server on a free loopback port, no persistence,
# its files and log in DIR. Waits until it answers PING.
fleet_start_redis() {
    local dir=$1 port

    port=$(fleet_free_port)
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$dir" \
        --daemonize no >"$dir/redis.log" 2>&1 &
    fleet_redis_pid=$!
    fleet_redis_url="redis://127.0.0.1:$port"

    for _ in $(seq 100); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
            return 0
        fi
        kill -0 "$fleet_redis_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "redis-server did not come up; its log:" >&2
    cat "$dir/redis.log" >&2
    return 1
}

# fleet_start_supervisor BIN_DIR LOG WORKERS: the supervisor on fleet_redis_url. Waits until
# the workers' consumer group exists on ccx:jobs, so that the first job is not early.
fleet_start_supervisor() {
    local bin_dir=$1 log=$2 workers=$3 port=${fleet_redis_url##*:}

    "$bin_dir/ccx-supervisor" --redis "$fleet_redis_url" --workers "$workers" >"$log" 2>&1 &
    fleet_supervisor_pid=$!

    for _ in $(seq 300); do
        if redis-cli -h 127.0.0.1 -p "$port" xinfo groups ccx:jobs 2>/dev/null |
            grep -qx ccx-workers; then
            return 0
        fi
        if ! kill -0 "$fleet_supervisor_pid" 2>/dev/null; then
            echo "ccx-supervisor exited at start; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "ccx-supervisor: no worker joined ccx:jobs within 30 s; its log:" >&2
    cat "$log" >&2
    return 1
}

# fleet_stop_pid PID SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL. Only for our own
# background children (wait needs that).
fleet_stop_pid() {
    local pid=$1 seconds=$2 i

    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < seconds * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "pid $pid still running after ${seconds}s, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# Stops the supervisor (which drains and stops its workers) and then redis. Safe to call
# twice. The supervisor gets longer than its 30 s shutdown grace.
fleet_stop() {
    fleet_stop_pid "$fleet_supervisor_pid" 40
    fleet_supervisor_pid=
    fleet_stop_pid "$fleet_redis_pid" 10
    fleet_redis_pid=
}

# fleet_leftovers BIN_DIR: prints one line per thing a fleet left behind, nothing when the
# host is clean. Processes count when they run a binary from BIN_DIR, so that another
# build's fleet on the same machine is not taken for ours; zombies hold nothing and are
# skipped.
fleet_leftovers() {
    local bin_dir=$1 name pid exe path

    for name in ccx-worker ccx-supervisor; do
        for pid in $(pgrep -x "$name" || true); do
            exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
            case "$exe" in
                "$bin_dir"/*) echo "process $name pid $pid" ;;
            esac
        done
    done
    for path in /sys/fs/cgroup/ccx /sys/fs/cgroup/*/ccx /run/ccx; do
        if [ -e "$path" ]; then
            echo "path $path"
        fi
    done
    if grep -q ' /run/ccx' /proc/mounts; then
        echo "mount under /run/ccx"
    fi
}
