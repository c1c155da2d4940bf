# ccx-attack: from bash, inject a line into the terminal with perl's ioctl TIOCSTI on fds 0-2
# ccx-category: terminal
# ccx-status: ok
# ccx-event: syscall_refused ^syscall=ioctl fd=0 request=TIOCSTI raw_request=0x5412 errno
# ccx-event: syscall_refused ^syscall=ioctl fd=1 request=TIOCSTI raw_request=0x5412 errno
# ccx-event: syscall_refused ^syscall=ioctl fd=2 request=TIOCSTI raw_request=0x5412 errno
# ccx-steps: 4
# ccx-limits: wall_ms=30000
# perl-base is part of every Debian system: any shell job can reach ioctl through it.
for fd in 0 1 2; do
    # shellcheck disable=SC2016  # $f and $! are perl's
    if out=$(perl -e 'open(my $f, "+<&=", $ARGV[0]) or die "fdopen: $!\n";
                      for my $c (split //, "touch /tmp/ccx-escape-perl\n") {
                          ioctl($f, 0x5412, $c) or die "$!\n";
                      }' "$fd" 2>&1); then
        echo "ESCAPED: TIOCSTI on fd $fd pushed a command"
    else
        echo "BLOCKED: TIOCSTI on fd $fd: $out"
    fi
done
if err=$(: 2>&1 3</dev/tty); then
    echo "ESCAPED: /dev/tty opens: the job has a controlling terminal"
else
    echo "BLOCKED: open /dev/tty: ${err##*: } (no controlling terminal in the sandbox)"
fi
