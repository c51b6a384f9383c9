import CMPI
import Foundation

/// The processes of one job and the few collectives Chorus needs, on Open MPI.
///
/// MPI is initialised only when a launcher started the process (`mpirun`, `mpiexec`, `srun`):
/// run on its own, a command is a single process of rank 0 and size 1, exactly as without MPI.
public final class Communicator: @unchecked Sendable {
    /// This job's processes (initialised on first use).
    public static let world = Communicator()

    /// This process's rank, 0 ..< size.
    public let rank: Int
    public let size: Int
    /// This process's rank among those on its host (which GPU it takes).
    public let localRank: Int
    /// The host's name, for records and messages.
    public let host: String
    /// True when MPI was initialised (a launcher started this process).
    public let usesMPI: Bool
    private var finalized = false
    private let lock = NSLock()

    /// True when a launcher started this process.
    public static func launchedByLauncher(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil || environment["PMI_RANK"] != nil { return true }
        // srun sets SLURM_STEP_ID for a job step; sbatch's batch script itself is not a step of ranks.
        if environment["SLURM_PROCID"] != nil, environment["SLURM_STEP_ID"] != nil, let n = environment["SLURM_STEP_NUM_TASKS"].flatMap(Int.init), n > 1 { return true }
        return false
    }

    private init() {
        let environment = ProcessInfo.processInfo.environment
        host = ProcessInfo.processInfo.hostName
        guard Self.launchedByLauncher(environment) else {
            rank = 0; size = 1; localRank = 0; usesMPI = false
            return
        }
        var provided: Int32 = 0
        // Only the main thread calls MPI (the data loader's threads never do).
        MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(chorus_mpi_comm_world(), &r)
        MPI_Comm_size(chorus_mpi_comm_world(), &s)
        rank = Int(r); size = Int(s); usesMPI = true
        // Ranks on the same host, by shared memory.
        var local = MPI_Comm(bitPattern: 0)
        MPI_Comm_split_type(chorus_mpi_comm_world(), chorus_mpi_comm_type_shared(), r, chorus_mpi_info_null(), &local)
        var lr: Int32 = 0
        MPI_Comm_rank(local, &lr)
        MPI_Comm_free(&local)
        localRank = Int(lr)
    }

    public var isDistributed: Bool { size > 1 }

    /// Sums `values` over all ranks, in place, on every rank.
    public func allreduceSum(_ values: inout [Float]) {
        guard usesMPI, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer { b in
            _ = MPI_Allreduce(chorus_mpi_in_place(), b.baseAddress, Int32(b.count), chorus_mpi_float(), chorus_mpi_sum(), chorus_mpi_comm_world())
        }
    }

    /// Sums `values` over all ranks, in place, on every rank.
    public func allreduceSum(_ values: inout [Double]) {
        guard usesMPI, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer { b in
            _ = MPI_Allreduce(chorus_mpi_in_place(), b.baseAddress, Int32(b.count), chorus_mpi_double(), chorus_mpi_sum(), chorus_mpi_comm_world())
        }
    }

    /// `data` of `root` on every rank.
    public func broadcast(_ data: [UInt8], root: Int = 0) -> [UInt8] {
        guard usesMPI else { return data }
        var count = Int64(data.count)
        MPI_Bcast(&count, 1, chorus_mpi_int64(), Int32(root), chorus_mpi_comm_world())
        var buffer = rank == root ? data : [UInt8](repeating: 0, count: Int(count))
        buffer.withUnsafeMutableBytes { b in
            _ = MPI_Bcast(b.baseAddress, Int32(b.count), chorus_mpi_byte(), Int32(root), chorus_mpi_comm_world())
        }
        return buffer
    }

    /// Every rank's `data`, in rank order, on every rank (for small results: summaries, scores).
    public func allgather(_ data: [UInt8]) -> [[UInt8]] {
        guard usesMPI else { return [data] }
        var mine = Int64(data.count)
        var counts = [Int64](repeating: 0, count: size)
        MPI_Allgather(&mine, 1, chorus_mpi_int64(), &counts, 1, chorus_mpi_int64(), chorus_mpi_comm_world())
        let total = counts.reduce(0, +)
        var displacements = [Int32](repeating: 0, count: size)
        var running: Int64 = 0
        for i in 0..<size { displacements[i] = Int32(running); running += counts[i] }
        var all = [UInt8](repeating: 0, count: Int(total))
        var countsInt32 = counts.map { Int32($0) }
        var send = data
        send.withUnsafeMutableBytes { s in
            all.withUnsafeMutableBytes { a in
                _ = MPI_Allgatherv(s.baseAddress, Int32(s.count), chorus_mpi_byte(), a.baseAddress, &countsInt32, &displacements,
                                   chorus_mpi_byte(), chorus_mpi_comm_world())
            }
        }
        return (0..<size).map { i in Array(all[Int(displacements[i])..<(Int(displacements[i]) + Int(counts[i]))]) }
    }

    /// Waits for every rank.
    public func barrier() {
        guard usesMPI else { return }
        MPI_Barrier(chorus_mpi_comm_world())
    }

    /// Stops every rank of the job (a failed rank must not leave the others waiting forever).
    public func abort(code: Int32) -> Never {
        if usesMPI { MPI_Abort(chorus_mpi_comm_world(), code) }
        exit(code)
    }

    /// Ends MPI (once; at the end of a successful command).
    public func finalize() {
        lock.lock(); defer { lock.unlock() }
        guard usesMPI, !finalized else { return }
        finalized = true
        MPI_Finalize()
    }

    /// "rank K of N on HOST" (empty for a single process).
    public var label: String { isDistributed ? "rank \(rank) of \(size) on \(host)" : "" }
}
