# ccx-attack: write, replace, rename and chmod files of the read-only root, /usr and /etc
# ccx-category: filesystem
# ccx-status: ok
# ccx-steps: 8
# Each step must fail. The probes that touch host files change nothing even if they got
# through (they open without writing, truncate to the same size, chmod to the same mode), so
# that a hole shows here rather than breaking the machine; a ccx-escape* file in the host's /
# would show the suite too.
attempt() {
    local step=$1
    shift
    if out=$("$@" 2>&1); then
        echo "ESCAPED: $step"
    else
        echo "BLOCKED: $step: ${out##*: }"
    fi
}

attempt "create /ccx-escape" touch /ccx-escape
attempt "mkdir /etc/ccx-escape" mkdir /etc/ccx-escape
attempt "open /usr/bin/python3.11 for appending" sh -c ': >> /usr/bin/python3.11'
attempt "truncate /etc/ld.so.cache" truncate -s "$(stat -c %s /etc/ld.so.cache)" /etc/ld.so.cache
attempt "rename a file into /usr/bin" sh -c 'echo x > /tmp/b && mv /tmp/b /usr/bin/ccx-escape'
attempt "chmod /usr/bin/bash" chmod "$(stat -c %a /usr/bin/bash)" /usr/bin/bash
attempt "rewrite /etc/passwd" sh -c 'echo "root::0:0::/:/bin/sh" > /etc/passwd'
# dd opens the running shell's binary through its /proc/<pid>/exe link, writing nothing.
attempt "open bash for writing through /proc/<its pid>/exe" \
    dd if=/dev/zero of=/proc/$$/exe bs=1 count=0 conv=notrunc
