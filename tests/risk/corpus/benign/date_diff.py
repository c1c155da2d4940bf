from datetime import date, datetime, timedelta

start = datetime.strptime(input() or "2024-01-15", "%Y-%m-%d").date()
end = date(2024, 12, 25)
delta = end - start
weekdays = sum(1 for i in range(delta.days) if (start + timedelta(days=i)).weekday() < 5)
print(f"{delta.days} days, {weekdays} weekdays")
