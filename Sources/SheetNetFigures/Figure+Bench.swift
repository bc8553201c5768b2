import Foundation
import SheetNet

/// Figures for `make bench`: fixed, seeded numbers, no lesson and no training, so the time
/// measured is start-up plus drawing plus encoding.
extension Figure {
  /// 64 feature maps of 28×28 (smooth seeded patterns) in a 12×6 grid, sharing one diverging colour bar.
  public static func benchFeatureMaps(theme: Theme) -> Figure {
    var rng = SeededGenerator(seed: 28)
    let maps: [[Double]] = (0..<64).map { _ in
      let (fx, fy, phase, tilt) = (rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6), rng.uniform(0, 6.3), rng.uniform(-1, 1))
      return (0..<28 * 28).map { i in
        let (y, x) = (Double(i / 28), Double(i % 28))
        return sin(fx * x + phase) * cos(fy * y) + tilt * (x - 13.5) / 14 + rng.uniform(-0.1, 0.1)
      }
    }
    return featureMapGrid(maps, side: 28, theme: theme, title: "Feature maps: 64 channels of 28×28",
                          subtitle: "Seeded numbers for the benchmark; one diverging colour scale for all maps")
  }

  /// Square maps in the grid that makes them largest on the page (12 × 6 for 64 maps on a slide)
  /// with one shared colour bar (symmetric around zero).
  public static func featureMapGrid(_ maps: [[Double]], side: Int, theme: Theme, title: String, subtitle: String) -> Figure {
    Figure(name: "feature-maps", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let scale = ColorScale.symmetric(maps.flatMap { $0 })
      let bar = ColorBar(colormap: .diverging, scale: scale, title: "activation")
      let barWidth = bar.width(on: canvas, theme: theme)
      let (_, rest) = body.splitRight(barWidth, gap: theme.gap)
      let gap = theme.gap * 0.15
      // The column count whose squares come out largest (the first of equals).
      func cell(_ columns: Int) -> Double {
        let rows = (maps.count + columns - 1) / columns
        return min((rest.width - gap * Double(columns - 1)) / Double(columns), (rest.height - gap * Double(rows - 1)) / Double(rows))
      }
      let columns = (1...max(1, maps.count)).max { cell($0) < cell($1) || (cell($0) == cell($1) && $0 > $1) } ?? 1
      let rows = (maps.count + columns - 1) / columns
      let cellSide = cell(columns)
      let gridWidth = cellSide * Double(columns) + gap * Double(columns - 1)
      let gridHeight = cellSide * Double(rows) + gap * Double(rows - 1)
      // The grid and its colour bar side by side, centred on the page.
      let left = rest.x + (body.width - gridWidth - theme.gap - barWidth) / 2
      let grid = Rect(x: left, y: rest.y, width: gridWidth, height: gridHeight)
      let barRect = Rect(x: grid.maxX + theme.gap, y: grid.y, width: barWidth, height: grid.height)
      for (i, map) in maps.enumerated() {
        let r = Rect(x: grid.x + Double(i % columns) * (cellSide + gap), y: grid.y + Double(i / columns) * (cellSide + gap), width: cellSide, height: cellSide)
        canvas.image(Raster(values: map, width: side, colormap: .diverging, scale: scale), in: r)
      }
      bar.draw(on: canvas, in: Rect(x: barRect.x, y: grid.y, width: barRect.width, height: grid.height), theme: theme)
    }
  }
}
