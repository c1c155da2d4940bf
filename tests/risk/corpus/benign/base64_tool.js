// Encodes and decodes text as base64 for display; the decoded text is printed, never run.
const input = process.argv[2] || 'hello from the sandbox';
const b64 = Buffer.from(input, 'utf8').toString('base64');
const back = Buffer.from(b64, 'base64').toString('utf8');
console.log(b64);
console.log(back === input ? 'roundtrip ok' : 'mismatch');
