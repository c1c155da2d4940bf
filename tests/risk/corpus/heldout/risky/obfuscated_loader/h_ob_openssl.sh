echo "aWQK" | openssl base64 -d | sh
