def solve(board):
    for i in range(81):
        if board[i] == 0:
            r, c = divmod(i, 9)
            used = {board[r * 9 + k] for k in range(9)} | {board[k * 9 + c] for k in range(9)}
            br, bc = 3 * (r // 3), 3 * (c // 3)
            used |= {board[(br + a) * 9 + bc + b] for a in range(3) for b in range(3)}
            for v in range(1, 10):
                if v not in used:
                    board[i] = v
                    if solve(board):
                        return True
            board[i] = 0
            return False
    return True

puzzle = "530070000600195000098000060800060003400803001700020006060000280000419005000080079"
b = [int(ch) for ch in puzzle]
solve(b)
for r in range(9):
    print("".join(map(str, b[r * 9:(r + 1) * 9])))
