class Trie:
    def __init__(self):
        self.root = {}

    def insert(self, word):
        node = self.root
        for ch in word:
            node = node.setdefault(ch, {})
        node["$"] = True

    def complete(self, prefix):
        node = self.root
        for ch in prefix:
            if ch not in node:
                return []
            node = node[ch]
        out = []
        stack = [(node, prefix)]
        while stack:
            n, acc = stack.pop()
            for k, v in n.items():
                if k == "$":
                    out.append(acc)
                else:
                    stack.append((v, acc + k))
        return sorted(out)

t = Trie()
for w in "execute executor exit eval evaluate system systematic socket".split():
    t.insert(w)
print(t.complete("exe"), t.complete("sys"))
