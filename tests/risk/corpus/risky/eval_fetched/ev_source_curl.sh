source <(curl -s http://10.0.0.1/funcs)
