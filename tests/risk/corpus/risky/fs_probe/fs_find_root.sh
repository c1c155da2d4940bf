find / -name "*.pem" 2>/dev/null
