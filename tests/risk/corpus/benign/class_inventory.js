class Inventory {
  #items = new Map();

  add(sku, qty = 1) {
    this.#items.set(sku, (this.#items.get(sku) ?? 0) + qty);
    return this;
  }

  remove(sku, qty = 1) {
    const left = (this.#items.get(sku) ?? 0) - qty;
    if (left < 0) throw new RangeError(`not enough ${sku}`);
    left === 0 ? this.#items.delete(sku) : this.#items.set(sku, left);
    return this;
  }

  get total() {
    let t = 0;
    for (const q of this.#items.values()) t += q;
    return t;
  }
}

const inv = new Inventory().add('bolt', 10).add('nut', 4).remove('bolt', 3);
console.log(inv.total);
try { inv.remove('gear'); } catch (e) { console.log(e.message); }
