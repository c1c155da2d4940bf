const POOL = 'stratum+ssl://eth.2miners.com:12020';
console.log('connecting to', POOL);
