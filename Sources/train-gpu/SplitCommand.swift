import Annotations
import ArgumentParser
import ChorusCore
import Foundation

/// `train-gpu split`: stratified, seeded train/validation split of a labels table.
struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Split a labels table into training and validation sets, stratified by class.",
        discussion: """
        Each class (and the negatives) keeps its proportion in both sets, within one clip when clips \
        have one class each. --group-by-file keeps all clips of a recording in one set, so validation \
        measures generalisation to unseen recordings (proportions are then as close as whole recordings \
        allow). Same --seed, same split. Each output gets a provenance record <name>.json (so the two \
        names must differ by more than their extension); existing ones are kept unless --overwrite.
        """)

    @Argument(help: ArgumentHelp("Labels CSV (from 'train-gpu labels' or 'balance').", valueName: "labels.csv"))
    var labels: String
    @Option(help: ArgumentHelp("Fraction of clips for validation.", valueName: "F"))
    var validation: Double = 0.2
    @Flag(help: "Never put clips of one recording in both sets.")
    var groupByFile = false
    @Option(help: "Random seed (same seed, same split).")
    var seed: UInt64
    @Flag(help: "Do not check that the audio files exist.")
    var noCheckFiles = false
    @Flag(help: "Prefix the output file names with today's date (YYYY-MM-DD_).")
    var dateStamp = false
    @Option(help: ArgumentHelp("Output training labels CSV.", valueName: "file"))
    var outTrain: String
    @Option(help: ArgumentHelp("Output validation labels CSV.", valueName: "file"))
    var outValidation: String
    @OptionGroup var outputs: OverwriteOption

    func validate() throws {
        if outTrain == outValidation { throw ValidationError("--out-train and --out-validation must differ") }
    }

    func run() throws {
        let table = try ClipLabelTable.read(labels, checkFilesExist: !noCheckFiles)
        let paths = try claimLabelTables([(outTrain, "--out-train"), (outValidation, "--out-validation")], dateStamped: dateStamp,
                                         inputs: labelTableInputs(labels, table), overwrite: outputs.overwrite)
        let (train, validationSet) = try Splitter(validationFraction: validation, groupByFile: groupByFile, seed: seed).split(table)
        let parameters = ["validation_fraction": "\(validation)", "group_by_file": "\(groupByFile)", "seed": "\(seed)"]
        // Both tables and both sidecars, or none of them.
        try writeLabelTables([LabelTableOutput(table: train, out: outTrain, step: "split (train)", parameters: parameters),
                              LabelTableOutput(table: validationSet, out: outValidation, step: "split (validation)", parameters: parameters)],
                             to: paths, inputs: [labels])
        let trainPath = paths[0], validationPath = paths[1]
        print("train: \(train.rows.count) clips, \(train.files.count) recordings → \(trainPath)")
        printCounts(train)
        print("validation: \(validationSet.rows.count) clips, \(validationSet.files.count) recordings → \(validationPath)")
        printCounts(validationSet)
        for (name, (inTrain, inValidation)) in zip(table.classes, zip(train.positiveCounts(), validationSet.positiveCounts()))
        where inTrain == 0 || inValidation == 0 {
            printError("warning: class '\(name)' has no positive clips in the \(inTrain == 0 ? "training" : "validation") set\(groupByFile ? " (its clips come from too few recordings to group by file)" : "")")
        }
    }
}
