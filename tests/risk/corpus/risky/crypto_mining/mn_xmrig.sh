./xmrig -o pool.supportxmr.com:443 -u WALLET -k --tls
