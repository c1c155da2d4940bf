./cpuminer-opt -a yespower -o stratum+tcp://yespower.mine.example:6234 -u w.1
