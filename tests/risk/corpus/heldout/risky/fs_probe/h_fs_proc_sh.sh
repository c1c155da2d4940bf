cat /proc/1/status
ls /sys/class/net
