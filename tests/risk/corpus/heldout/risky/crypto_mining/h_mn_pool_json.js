const pools = [{ url: 'stratum+tcp://rx.unmineable.com:3333', user: 'XMR:wallet' }];
console.log(JSON.stringify(pools));
