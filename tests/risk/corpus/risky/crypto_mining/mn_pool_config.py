config = {"url": "xmr-eu1.nanopool.org:14444", "user": "wallet.worker", "algo": "rx/0"}
print(config)
