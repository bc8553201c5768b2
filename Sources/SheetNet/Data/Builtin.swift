import Foundation

/// The datasets SheetNet ships, credited in README.
public enum Builtin {
  /// Names of the shipped real datasets.
  public static let real = ["digits", "iris"]

  static func resource(_ name: String) throws(SheetNetError) -> String {
    guard let url = Bundle.module.url(forResource: name, withExtension: "csv"),
      let text = try? String(contentsOf: url, encoding: .utf8)
    else { throw .data("the shipped dataset \(name).csv is missing from the installation; rebuild with `make build`") }
    return text
  }

  /// UCI 8×8 handwritten digits (Alpaydin and Kaynak, 1998): 1,797 samples, 64 pixels 0…16, labels 0…9.
  public static func digits() throws(SheetNetError) -> Dataset {
    let (x, labels, _) = try CSVData.parse(try resource("digits-8x8"), file: "digits-8x8.csv", header: false)
    return Dataset(name: "digits", x: x, labels: labels, classNames: (0...9).map(String.init))
  }

  /// Fisher's iris: 150 flowers, 4 measurements in cm (sepal length and width, petal length and
  /// width, in that column order), 3 species.
  public static func iris() throws(SheetNetError) -> Dataset {
    let (x, labels, _) = try CSVData.parse(try resource("iris"), file: "iris.csv", header: true)
    var iris = Dataset(name: "iris", x: x, labels: labels, classNames: ["setosa", "versicolor", "virginica"])
    iris.featureNames = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    return iris
  }
}
