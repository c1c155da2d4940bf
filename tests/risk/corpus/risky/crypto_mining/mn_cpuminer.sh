cpuminer --algo=sha256d --url=stratum+tcp://btc.pool.example:3333 --user=me
