from base64 import b64decode as d
blob = d("cHJpbnQoJ2hpJyk=")
eval(blob)
