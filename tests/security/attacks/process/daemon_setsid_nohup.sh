# ccx-attack: leave setsid/nohup sleepers behind, one still holding the job's stdout open
# ccx-category: process
# ccx-status: ok
# ccx-limits: wall_ms=30000
# ccx-steps: 2
trap '' HUP TERM
( setsid nohup sleep 3001 >/dev/null 2>&1 </dev/null & )
( trap '' HUP TERM; setsid sleep 3002 & )   # double fork; stdout stays the job's pipe
sleep 0.3
for mark in 3001 3002; do
    pid=
    for stat in /proc/[0-9]*/cmdline; do
        if [ "$(tr '\0' ' ' < "$stat" 2>/dev/null)" = "sleep $mark " ]; then
            pid=${stat#/proc/}; pid=${pid%/cmdline}
        fi
    done
    if [ -z "$pid" ]; then
        echo "FAILED: sleeper $mark did not start"
        continue
    fi
    ppid=$(awk '{print $4}' /proc/"$pid"/stat)
    # Adopted by pid 1 means: still in the job's pid namespace, killed when the job ends.
    if [ "$ppid" = 1 ]; then
        echo "BLOCKED: sleeper $mark (pid $pid) was adopted by the job's init"
    else
        echo "ESCAPED: sleeper $mark (pid $pid) has parent $ppid outside the job's init"
    fi
done
