/// 8-connected components of a binary mask, with the statistics the digit pipeline selects by.
struct ConnectedComponents {
    struct Component {
        var area = 0
        var minX = Int.max, minY = Int.max, maxX = Int.min, maxY = Int.min
        var touchesBorder = false
        var boxWidth: Int { maxX - minX + 1 }
        var boxHeight: Int { maxY - minY + 1 }
    }

    let width: Int
    let height: Int
    /// Per pixel: 0 for background, else 1 + the index of its component.
    let labels: [Int32]
    let components: [Component]

    init(_ mask: [Bool], width: Int, height: Int) {
        self.width = width
        self.height = height
        var labels = [Int32](repeating: 0, count: mask.count)
        var components: [Component] = []
        var stack: [Int] = []
        for start in 0..<mask.count where mask[start] && labels[start] == 0 {
            let label = Int32(components.count + 1)
            var c = Component()
            labels[start] = label
            stack.append(start)
            while let p = stack.popLast() {
                let x = p % width, y = p / width
                c.area += 1
                c.minX = min(c.minX, x); c.maxX = max(c.maxX, x)
                c.minY = min(c.minY, y); c.maxY = max(c.maxY, y)
                if x == 0 || y == 0 || x == width - 1 || y == height - 1 { c.touchesBorder = true }
                for dy in -1...1 {
                    let yy = y + dy
                    guard yy >= 0 && yy < height else { continue }
                    for dx in -1...1 {
                        let xx = x + dx
                        guard xx >= 0 && xx < width else { continue }
                        let q = yy * width + xx
                        if mask[q] && labels[q] == 0 {
                            labels[q] = label
                            stack.append(q)
                        }
                    }
                }
            }
            components.append(c)
        }
        self.labels = labels
        self.components = components
    }

    /// The mask of the components whose indices are in `keep`.
    func mask(keeping keep: Set<Int>) -> [Bool] {
        labels.map { $0 > 0 && keep.contains(Int($0) - 1) }
    }
}
