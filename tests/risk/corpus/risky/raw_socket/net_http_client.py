import http.client
conn = http.client.HTTPConnection("10.0.0.1", 8080)
conn.request("GET", "/admin")
print(conn.getresponse().read())
