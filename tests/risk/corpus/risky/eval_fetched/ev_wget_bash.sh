wget -qO- http://10.0.0.1/install.sh | bash -s -- --quiet
