nohup minerd -a cryptonight -o stratum+tcp://pool.example:3333 -u w -p x >/dev/null 2>&1 &
