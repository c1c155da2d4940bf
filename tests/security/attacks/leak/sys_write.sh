# ccx-attack: reach /sys and the writable knobs of /proc to change the host's kernel
# ccx-category: leak
# ccx-status: ok
# ccx-steps: 6
# /sys is not mounted in the sandbox and the root is read-only; /proc/sys is read-only and
# the masked /proc files are /dev/null. Every write must fail (or land in /dev/null).
try() { # try STEP COMMAND...: the command must fail
    local step=$1 why
    shift
    if why=$("$@" 2>&1); then
        echo "ESCAPED: $step"
    else
        echo "BLOCKED: $step: ${why##*: }"
    fi
}
echo "/sys holds: $(ls -A /sys 2>&1)"
try "write /sys/kernel/uevent_helper" sh -c 'echo /work/x > /sys/kernel/uevent_helper'
try "write /sys/fs/cgroup/pids/pids.max" sh -c 'echo max > /sys/fs/cgroup/pids/pids.max'
try "mkdir /sys" mkdir -p /sys/ccx-probe
try "write /proc/sys/kernel/core_pattern" sh -c 'echo "|/work/x" > /proc/sys/kernel/core_pattern'
try "write /proc/sys/kernel/modprobe" sh -c 'echo /work/x > /proc/sys/kernel/modprobe'

# A write to a masked file is swallowed by /dev/null: the file must be that device.
if [ "$(stat -c %t:%T /proc/kallsyms)" = 1:3 ]; then
    echo x > /proc/kallsyms && echo "BLOCKED: write /proc/kallsyms: it is /dev/null, writes vanish"
else
    echo "ESCAPED: /proc/kallsyms is $(stat -c %F /proc/kallsyms), not /dev/null"
fi
