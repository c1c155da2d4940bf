# ccx-attack: run programs under setarch -R / -X / linux32 to get a weaker personality
# ccx-category: privilege
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=personality persona=0x40000 errno
# ccx-event: syscall_refused ^syscall=personality persona=0x400000 errno
# ccx-event: syscall_refused ^syscall=personality persona=0x8 errno
# ccx-steps: 3
# ccx-limits: wall_ms=30000
# A program that runs under the new persona prints it from /proc/self/personality.
for opts in "x86_64 -R" "x86_64 -X" "linux32"; do
    # shellcheck disable=SC2086  # the options are meant to split
    if out=$(setarch $opts cat /proc/self/personality 2>&1); then
        echo "ESCAPED: setarch $opts: ran with personality $out"
    else
        echo "BLOCKED: setarch $opts: $out"
    fi
done
