#!/bin/sh
# ccx-entrypoint: makes the container's cgroup namespace usable for ccx, then execs
# ccx-supervisor with the container's arguments (e.g. --workers 4). Needs CAP_SYS_ADMIN
# (which ccx needs anyway) and a private cgroup namespace, so that /sys/fs/cgroup is the
# container's own cgroup and nothing outside it is touched.
set -eu

cg=/sys/fs/cgroup

# Runtimes mount the cgroup filesystem read-only in unprivileged containers. Inside a
# private cgroup namespace it shows only the container's own subtree, so making it
# writable gives ccx that subtree and nothing more. The read-only flag is the mount's,
# not the filesystem's: remount,bind changes that flag alone (a plain remount tries the
# shared superblock and fails with EBUSY).
remount_rw() {
    if [ ! -w "$1" ]; then
        mount -o remount,bind,rw "$1"
    fi
}

if [ "$(stat -fc %T "$cg")" = cgroup2fs ]; then
    remount_rw "$cg"
    # cgroup v2 lets a cgroup hand controllers to children only while it holds no process
    # itself. The container's processes sit in its root, so move them (this shell among
    # them) into a leaf, then enable what ccx's subtree needs.
    mkdir -p "$cg/init"
    for pid in $(cat "$cg/cgroup.procs"); do
        echo "$pid" >"$cg/init/cgroup.procs" 2>/dev/null || true
    done
    echo "+memory +pids +cpu" >"$cg/cgroup.subtree_control"
else
    # cgroup v1: one mount per controller (cpu and cpuacct often share one).
    for controller in memory pids cpu cpuacct; do
        if [ -d "$cg/$controller" ]; then
            remount_rw "$(readlink -f "$cg/$controller")"
        fi
    done
fi

exec /usr/local/bin/ccx-supervisor "$@"
