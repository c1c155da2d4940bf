#!/bin/bash
cat > app.conf <<CONF
# generated
workers=4
mode=exec
socket_path=./app.sock
CONF
while IFS='=' read -r key value; do
  case $key in ''|\#*) continue ;; esac
  echo "key=$key value=$value"
done < app.conf
