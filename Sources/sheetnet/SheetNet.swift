import ArgumentParser

/// The `sheetnet` command: train, summarise, evaluate and trace tiny networks.
@main
struct SheetNetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sheetnet",
    abstract: "Train tiny networks and show every number of a training step.",
    subcommands: [])
}
