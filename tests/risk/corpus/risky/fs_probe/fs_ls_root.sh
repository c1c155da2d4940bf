ls -la /
ls /root
