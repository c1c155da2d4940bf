const camel = s => s.replace(/[-_\s]+(.)?/g, (_, c) => (c ? c.toUpperCase() : ''));
const kebab = s => s.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
const isPalindrome = s => {
  const t = s.toLowerCase().replace(/[^a-z0-9]/g, '');
  return t === [...t].reverse().join('');
};
console.log(camel('child_process exec sync'));
console.log(kebab('runInThisContext'));
console.log(isPalindrome('A man, a plan, a canal: Panama'));
