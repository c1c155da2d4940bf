const d = new Date(Date.UTC(2024, 1, 29, 13, 5));
const pad = n => String(n).padStart(2, '0');
const iso = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
console.log(iso, time);
const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
console.log(days[d.getUTCDay()]);
