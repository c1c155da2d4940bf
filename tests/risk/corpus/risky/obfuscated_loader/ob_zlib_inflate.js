const zlib = require('zlib');
const src = zlib.inflateSync(Buffer.from('eJxLzs8rzs9JVUjOzytJzSvRBQAaxwRM', 'base64')).toString();
eval(src);
