const people = [
  { name: 'Zoe', age: 31 }, { name: 'adam', age: 25 }, { name: 'Émile', age: 31 }, { name: 'bo', age: 19 },
];
const byAgeThenName = (a, b) => b.age - a.age || a.name.localeCompare(b.name, 'en', { sensitivity: 'base' });
console.table([...people].sort(byAgeThenName));
