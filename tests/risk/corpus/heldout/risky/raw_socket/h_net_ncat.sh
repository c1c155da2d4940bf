ncat 192.0.2.1 8000 < /dev/null
