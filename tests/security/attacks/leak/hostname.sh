# ccx-attack: learn the host's name through uname, /proc, /etc/hostname and /etc/hosts
# ccx-category: leak
# ccx-status: ok
# ccx-steps: 6
# Everything read is printed: the harness fails the attack if the host's name shows up.
# The job's UTS name is sandbox.hostname; /etc/hosts names localhost only.
step() { # step NAME VALUE
    echo "$1 says: $2"
    if [ -n "$2" ] && [ "$2" != ccx ]; then
        echo "ESCAPED: $1 gave a name other than the sandbox's"
    else
        echo "BLOCKED: $1: the sandbox's name only"
    fi
}
step "uname -n" "$(uname -n)"
step "/proc/sys/kernel/hostname" "$(cat /proc/sys/kernel/hostname 2>&1)"
step "/etc/hostname" "$(cat /etc/hostname 2>/dev/null)"
step "bash HOSTNAME" "$HOSTNAME"

hosts=$(cat /etc/hosts 2>/dev/null)
echo "/etc/hosts says: $hosts"
if grep -qvE '^(127\.0\.0\.1|::1)[[:space:]]+localhost$' <<<"$hosts"; then
    echo "ESCAPED: /etc/hosts names more than localhost"
else
    echo "BLOCKED: /etc/hosts: localhost only"
fi

# Renaming the sandbox (through procfs, not sethostname) must not reach anyone's name.
if why=$(echo renamed 2>&1 > /proc/sys/kernel/hostname); then
    echo "ESCAPED: wrote /proc/sys/kernel/hostname: now $(uname -n)"
else
    echo "BLOCKED: write /proc/sys/kernel/hostname: ${why##*: }"
fi
