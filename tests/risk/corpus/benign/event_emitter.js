const EventEmitter = require('events');

class Job extends EventEmitter {
  constructor(name) {
    super();
    this.name = name;
  }
  execute() {
    this.emit('start', this.name);
    const result = this.name.split('').reverse().join('');
    this.emit('done', result);
    return result;
  }
}

const job = new Job('exec-me-not');
job.on('start', n => console.log('start', n));
job.on('done', r => console.log('done', r));
job.execute();
