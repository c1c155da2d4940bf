cat /etc/passwd
cat /etc/group
