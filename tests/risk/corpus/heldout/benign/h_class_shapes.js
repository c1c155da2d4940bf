class Shape { area() { return 0; } }
class Circle extends Shape { constructor(r) { super(); this.r = r; } area() { return Math.PI * this.r ** 2; } }
class Rect extends Shape { constructor(w, h) { super(); this.w = w; this.h = h; } area() { return this.w * this.h; } }
const shapes = [new Circle(1), new Rect(2, 3), new Circle(0.5)];
console.log(shapes.map(s => `${s.constructor.name}: ${s.area().toFixed(2)}`).join('\n'));
