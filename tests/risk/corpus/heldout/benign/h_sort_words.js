const text = 'the exec of eval is a system socket thing';
console.log(text.split(' ').sort((a, b) => a.length - b.length || a.localeCompare(b)));
