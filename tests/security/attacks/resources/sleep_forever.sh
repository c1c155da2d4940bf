# ccx-attack: sleep forever, to hold a worker slot and its sandbox without end
# ccx-category: resources
# ccx-status: timeout
# ccx-event: timeout ^wall_ms=1500$
# ccx-no-event: cpu_limit
# ccx-limits: wall_ms=1500
sleep infinity
echo "ESCAPED: sleep infinity returned"
