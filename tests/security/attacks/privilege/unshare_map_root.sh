# ccx-attack: become root in a new user namespace with unshare(1) -r, then mount and net in it
# ccx-category: privilege
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWUSER raw_flags=0x10000000
# ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWNS\|CLONE_NEWUSER raw_flags=0x10020000
# ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWUSER\|CLONE_NEWNET
# ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWNS\|CLONE_NEWUSER\|CLONE_NEWPID
# ccx-steps: 4
# ccx-limits: wall_ms=30000
try() {
    local what=$1
    shift
    if out=$("$@" 2>&1); then
        echo "ESCAPED: $what: $out"
    else
        echo "BLOCKED: $what: $out"
    fi
}

try "unshare -r id -u" unshare -r id -u
try "unshare -rm mount -t tmpfs" unshare -rm mount -t tmpfs none /tmp
try "unshare -rn cat uid_map" unshare -rn cat /proc/self/uid_map
# A pid namespace needs a fork into it, and --mount-proc a mount namespace as well.
try "unshare -rfp --mount-proc" unshare -rfp --mount-proc id -u
