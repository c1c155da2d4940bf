import random
from dataclasses import dataclass, field

random.seed(42)

@dataclass
class Account:
    owner: str
    balance: float = 0.0
    history: list = field(default_factory=list)

    def deposit(self, amount):
        self.balance += amount
        self.history.append(("deposit", amount))

    def withdraw(self, amount):
        if amount > self.balance:
            raise ValueError("insufficient funds")
        self.balance -= amount
        self.history.append(("withdraw", amount))

accounts = [Account(name) for name in ("ana", "bo", "cy")]
for day in range(30):
    acct = random.choice(accounts)
    try:
        if random.random() < 0.6:
            acct.deposit(round(random.uniform(5, 100), 2))
        else:
            acct.withdraw(round(random.uniform(5, 80), 2))
    except ValueError as e:
        print(f"day {day}: {acct.owner}: {e}")
for a in accounts:
    print(a.owner, round(a.balance, 2), len(a.history))
