class V {
    constructor(x) { this.x = x; }
    clone() { return new this.constructor(this.x); }
}
function Node(v) { this.v = v; }
Node.prototype.copy = function () { return new this.constructor(this.v); };
const a = new V(3).clone();
const n = new Node(4).copy();
console.log(a.x, n.v);
