eval "$(printf '%s' aWQ7IHVuYW1lIC1h | base64 --decode)"
