function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

let calls = 0;
const save = debounce(() => { calls++; console.log('saved', calls); }, 20);
for (let i = 0; i < 5; i++) save();
setTimeout(() => save(), 50);
