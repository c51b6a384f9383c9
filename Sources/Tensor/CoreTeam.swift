import CDNNL

/// One team of threads for all of the CPU backend's parallel work. oneDNN runs on OpenMP
/// (libgomp), whose threads spin for a while after each convolution waiting for the next
/// parallel region; when the backend's own loops ran on other threads (Dispatch's), those
/// spinning threads competed with them for the same cores. Running the loops as OpenMP parallel
/// regions of the same team reuses the threads oneDNN already has awake, and never runs more
/// threads than cores.
enum CoreTeam {
    /// Runs `body(part)` for every part in 0..<parts on `threads` threads (the calling thread
    /// among them), part p on thread p mod threads; returns when all parts are done.
    static func forEach(_ parts: Int, threads: Int, _ body: (Int) -> Void) {
        guard parts > 1, threads > 1 else {
            for p in 0..<parts { body(p) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = Job(parts: parts, body: body)
            withUnsafeMutablePointer(to: &job) { pointer in
                GOMP_parallel({ raw in
                    let job = raw!.assumingMemoryBound(to: Job.self)
                    let team = Int(omp_get_num_threads())
                    var p = Int(omp_get_thread_num())
                    while p < job.pointee.parts {
                        job.pointee.body(p)
                        p += team
                    }
                }, pointer, UInt32(min(threads, parts)), 0)
            }
        }
    }

    private struct Job {
        let parts: Int
        let body: (Int) -> Void
    }
}
