# ccx-attack: use bash's /dev/tcp and /dev/udp redirections to reach the host's listeners
# ccx-category: network
# ccx-status: ok
# ccx-limits: wall_ms=30000
# ccx-event: syscall_refused ^syscall=socket family=AF_INET type=SOCK_STREAM
# ccx-event: syscall_refused ^syscall=socket family=AF_INET type=SOCK_DGRAM
# ccx-steps: 2
# ccx-args: {tcp_port} {udp_port}
if err=$( { exec 3<>"/dev/tcp/127.0.0.1/$1"; echo hello >&3; } 2>&1 ); then
    echo "ESCAPED: /dev/tcp/127.0.0.1/$1 opened"
else
    echo "BLOCKED: /dev/tcp/127.0.0.1/$1: $(echo "$err" | head -1)"
fi
if err=$( { echo hello > "/dev/udp/127.0.0.1/$2"; } 2>&1 ); then
    echo "ESCAPED: /dev/udp/127.0.0.1/$2 sent"
else
    echo "BLOCKED: /dev/udp/127.0.0.1/$2: $(echo "$err" | head -1)"
fi
