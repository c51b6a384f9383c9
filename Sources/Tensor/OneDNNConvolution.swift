import CDNNL
import Foundation

/// Convolutions of the CPU backend on oneDNN (forward, backward-data, backward-weights).
///
/// Tensors stay NCHW (weights OIHW) everywhere else in Chorus; each convolution lets oneDNN pick
/// the blocked layouts its fastest kernels want for the machine it runs on (`format_tag_any`),
/// reorders into and out of them around the call, and keeps the blocked copies in a workspace
/// reused from call to call. A plan (primitive descriptors, primitives, reorders) is built once
/// per shape and reused across steps.
final class OneDNNConvolutions: @unchecked Sendable {
    struct Key: Hashable {
        var images, outChannels: Int
        var geometry: ConvGeometry
    }

    struct InferenceKey: Hashable {
        var shape: Key
        var relu: Bool
    }

    private let engine: dnnl_engine_t
    private let stream: dnnl_stream_t
    private var plans: [Key: Plan] = [:]
    private var inferencePlans: [InferenceKey: InferencePlan] = [:]
    private let workspace = Workspace()
    /// One convolution at a time: the plans' memory objects and the workspace are shared.
    private let lock = NSLock()

    /// The linked library's version, e.g. "2.6.3".
    static var version: String {
        let v = dnnl_version()!.pointee
        return "\(v.major).\(v.minor).\(v.patch)"
    }

    init(threads: Int) throws {
        omp_set_num_threads(Int32(max(1, threads)))
        var e: dnnl_engine_t?
        try check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine")
        var s: dnnl_stream_t?
        try check(dnnl_stream_create(&s, e, dnnl_stream_default_flags.rawValue), "stream")
        engine = e!; stream = s!
    }

    deinit {
        plans.removeAll()
        inferencePlans.removeAll()
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }

    /// y = conv(x, w) (no bias).
    func forward(_ key: Key, x: UnsafeMutablePointer<Float>, w: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) throws {
        lock.lock(); defer { lock.unlock() }
        let p = try plan(key)
        try run(p.forward, inputs: [(DNNL_ARG_SRC, p.forwardSource, x, 0), (DNNL_ARG_WEIGHTS, p.forwardWeights, w, 1)],
                output: (DNNL_ARG_DST, p.forwardDestination, y, 2))
    }

    /// y = conv(x, w) + bias, then ReLU when `relu`: one oneDNN primitive (bias and ReLU fused
    /// into the convolution's output), for inference.
    func inference(_ key: Key, relu: Bool, x: UnsafeMutablePointer<Float>, w: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>,
                   y: UnsafeMutablePointer<Float>) throws {
        lock.lock(); defer { lock.unlock() }
        let ik = InferenceKey(shape: key, relu: relu)
        let p: InferencePlan
        if let existing = inferencePlans[ik] { p = existing } else { p = try InferencePlan(key, relu: relu, engine: engine); inferencePlans[ik] = p }
        try run(p.forward, inputs: [(DNNL_ARG_SRC, p.source, x, 0), (DNNL_ARG_WEIGHTS, p.weights, w, 1), (DNNL_ARG_BIAS, p.bias, bias, 3)],
                output: (DNNL_ARG_DST, p.destination, y, 2))
    }

    /// Runs `primitive`: each input reordered into its chosen layout (workspace slot given) when
    /// that differs from Chorus's, the output written there and reordered back.
    private func run(_ primitive: Primitive, inputs: [(arg: Int32, operand: Operand, data: UnsafeMutablePointer<Float>, slot: Int)],
                     output: (arg: Int32, operand: Operand, data: UnsafeMutablePointer<Float>, slot: Int)) throws {
        var args = try inputs.map { ($0.arg, try $0.operand.into($0.data, slot: $0.slot, workspace, stream)) }
        args.append((output.arg, try output.operand.outOf(output.data, slot: output.slot, workspace)))
        try primitive.execute(args, stream)
        try output.operand.finish(output.data, workspace, stream)
        try check(dnnl_stream_wait(stream), "stream wait")
    }

    /// dw = dL/dw and, when `dx` is given, dx = dL/dx.
    func backward(_ key: Key, x: UnsafeMutablePointer<Float>, w: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>) throws {
        lock.lock(); defer { lock.unlock() }
        let p = try plan(key)
        // Backward-weights: src, diff_dst in; diff_weights out.
        try run(p.backwardWeights, inputs: [(DNNL_ARG_SRC, p.weightsSource, x, 0), (DNNL_ARG_DIFF_DST, p.weightsGradOut, dy, 1)],
                output: (DNNL_ARG_DIFF_WEIGHTS, p.weightsGrad, dw, 2))
        if let dx {
            // Backward-data: weights, diff_dst in; diff_src out. When both primitives chose the
            // same layout for diff_dst, its reordered copy in slot 1 is used as it is.
            let sameGradOut = dnnl_memory_desc_equal(p.dataGradOut.chosen, p.weightsGradOut.chosen) != 0
            let gradOut = try sameGradOut ? p.weightsGradOut.current(dy, slot: 1, workspace) : p.dataGradOut.into(dy, slot: 1, workspace, stream)
            let wei = try p.dataWeights.into(w, slot: 0, workspace, stream)
            let gradIn = try p.dataGradIn.outOf(dx, slot: 3, workspace)
            try p.backwardData.execute([(DNNL_ARG_DIFF_DST, gradOut), (DNNL_ARG_WEIGHTS, wei), (DNNL_ARG_DIFF_SRC, gradIn)], stream)
            try p.dataGradIn.finish(dx, workspace, stream)
            try check(dnnl_stream_wait(stream), "stream wait")
        }
    }

    /// The name oneDNN gives the implementation it chose for this shape (e.g. `jit:avx512_core`).
    func implementation(_ key: Key) throws -> (forward: String, backwardData: String, backwardWeights: String) {
        lock.lock(); defer { lock.unlock() }
        let p = try plan(key)
        return (p.forward.implementation, p.backwardData.implementation, p.backwardWeights.implementation)
    }

    private func plan(_ key: Key) throws -> Plan {
        if let p = plans[key] { return p }
        let p = try Plan(key, engine: engine)
        plans[key] = p
        return p
    }

    // MARK: - Plan

    /// Everything oneDNN needs for one convolution shape.
    private final class Plan {
        let forward, backwardData, backwardWeights: Primitive
        let forwardSource, forwardWeights, forwardDestination: Operand
        let dataWeights, dataGradOut, dataGradIn: Operand
        let weightsSource, weightsGradOut, weightsGrad: Operand

        init(_ key: Key, engine: dnnl_engine_t) throws {
            var d = try Descriptors(key)
            let (userSrc, userWei, userDst) = (d.userSource, d.userWeights, d.userDestination)
            let (strides, padding, padRight) = (d.strides, d.padding, d.padRight)

            var fd = dnnl_convolution_desc_t()
            try check(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &d.anySource, &d.anyWeights, nil, &d.anyDestination,
                                                         strides, padding, padRight), "convolution forward descriptor \(key)")
            forward = try Primitive(&fd, engine: engine, hint: nil, what: "convolution forward \(key)")
            var bd = dnnl_convolution_desc_t()
            try check(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &d.anySource, &d.anyWeights, &d.anyDestination,
                                                               strides, padding, padRight), "convolution backward-data descriptor \(key)")
            backwardData = try Primitive(&bd, engine: engine, hint: forward.descriptor, what: "convolution backward-data \(key)")
            var wd = dnnl_convolution_desc_t()
            try check(dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &d.anySource, &d.anyWeights, nil, &d.anyDestination,
                                                                  strides, padding, padRight), "convolution backward-weights descriptor \(key)")
            backwardWeights = try Primitive(&wd, engine: engine, hint: forward.descriptor, what: "convolution backward-weights \(key)")

            forwardSource = try Operand(user: userSrc, chosen: forward.memory(dnnl_query_src_md), engine: engine)
            forwardWeights = try Operand(user: userWei, chosen: forward.memory(dnnl_query_weights_md), engine: engine)
            forwardDestination = try Operand(user: userDst, chosen: forward.memory(dnnl_query_dst_md), engine: engine)
            dataWeights = try Operand(user: userWei, chosen: backwardData.memory(dnnl_query_weights_md), engine: engine)
            dataGradOut = try Operand(user: userDst, chosen: backwardData.memory(dnnl_query_diff_dst_md), engine: engine)
            dataGradIn = try Operand(user: userSrc, chosen: backwardData.memory(dnnl_query_diff_src_md), engine: engine)
            weightsSource = try Operand(user: userSrc, chosen: backwardWeights.memory(dnnl_query_src_md), engine: engine)
            weightsGradOut = try Operand(user: userDst, chosen: backwardWeights.memory(dnnl_query_diff_dst_md), engine: engine)
            weightsGrad = try Operand(user: userWei, chosen: backwardWeights.memory(dnnl_query_diff_weights_md), engine: engine)
        }
    }

    /// The memory descriptors of one convolution shape: Chorus's layouts (NCHW, OIHW) and "any"
    /// for oneDNN to choose, with strides and paddings.
    private struct Descriptors {
        let userSource, userWeights, userDestination: dnnl_memory_desc_t
        var anySource, anyWeights, anyDestination: dnnl_memory_desc_t
        let strides, padding, padRight: [Int64]

        init(_ key: Key) throws {
            let g = key.geometry
            let src = [key.images, g.channels, g.height, g.width], wei = [key.outChannels, g.channels, g.kernelH, g.kernelW]
            let dst = [key.images, key.outChannels, g.outHeight, g.outWidth]
            userSource = try memoryDescriptor(src, dnnl_nchw); userWeights = try memoryDescriptor(wei, dnnl_oihw)
            userDestination = try memoryDescriptor(dst, dnnl_nchw)
            anySource = try memoryDescriptor(src, dnnl_format_tag_any); anyWeights = try memoryDescriptor(wei, dnnl_format_tag_any)
            anyDestination = try memoryDescriptor(dst, dnnl_format_tag_any)
            strides = dims([g.stride, g.stride]); padding = dims([g.padding, g.padding])
            // Right padding so that the output size matches Chorus's (floor) geometry exactly.
            padRight = dims([(g.outHeight - 1) * g.stride + g.kernelH - g.height - g.padding,
                             (g.outWidth - 1) * g.stride + g.kernelW - g.width - g.padding])
        }
    }

    /// A forward-inference convolution with bias and, optionally, ReLU as a post-op.
    private final class InferencePlan {
        let forward: Primitive
        let source, weights, bias, destination: Operand

        init(_ key: Key, relu: Bool, engine: dnnl_engine_t) throws {
            var d = try Descriptors(key), plainBias = try memoryDescriptor([key.outChannels], dnnl_x)
            var fd = dnnl_convolution_desc_t()
            try check(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_inference, dnnl_convolution_direct, &d.anySource, &d.anyWeights, &plainBias,
                                                         &d.anyDestination, d.strides, d.padding, d.padRight), "convolution inference descriptor \(key)")
            var attr: dnnl_primitive_attr_t?
            try check(dnnl_primitive_attr_create(&attr), "attributes")
            defer { dnnl_primitive_attr_destroy(attr) }
            if relu {
                var postOps: dnnl_post_ops_t?
                try check(dnnl_post_ops_create(&postOps), "post-ops")
                defer { dnnl_post_ops_destroy(postOps) }
                try check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "ReLU post-op")
                try check(dnnl_primitive_attr_set_post_ops(attr, postOps), "post-ops")
            }
            forward = try Primitive(&fd, engine: engine, hint: nil, attributes: attr, what: "convolution inference \(key)")
            source = try Operand(user: d.userSource, chosen: forward.memory(dnnl_query_src_md), engine: engine)
            weights = try Operand(user: d.userWeights, chosen: forward.memory(dnnl_query_weights_md), engine: engine)
            bias = try Operand(user: plainBias, chosen: forward.memory(dnnl_query_weights_md, index: 1), engine: engine)
            destination = try Operand(user: d.userDestination, chosen: forward.memory(dnnl_query_dst_md), engine: engine)
        }
    }

    /// A primitive descriptor and its primitive.
    private final class Primitive {
        let descriptor: dnnl_primitive_desc_t
        let primitive: dnnl_primitive_t

        init(_ op: UnsafeRawPointer, engine: dnnl_engine_t, hint: dnnl_primitive_desc_t?, attributes: dnnl_primitive_attr_t? = nil, what: String) throws {
            var pd: dnnl_primitive_desc_t?
            try check(dnnl_primitive_desc_create(&pd, op, attributes, engine, hint), what)
            var p: dnnl_primitive_t?
            let status = dnnl_primitive_create(&p, pd)
            if status != dnnl_success { dnnl_primitive_desc_destroy(pd) }
            try check(status, what)
            descriptor = pd!; primitive = p!
        }

        deinit { dnnl_primitive_destroy(primitive); dnnl_primitive_desc_destroy(descriptor) }

        func memory(_ query: dnnl_query_t, index: Int32 = 0) -> dnnl_memory_desc_t { dnnl_primitive_desc_query_md(descriptor, query, index)!.pointee }

        var implementation: String {
            var name: UnsafePointer<CChar>?
            withUnsafeMutablePointer(to: &name) { _ = dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, $0) }
            return name.map { String(cString: $0) } ?? "?"
        }

        func execute(_ args: [(Int32, dnnl_memory_t)], _ stream: dnnl_stream_t) throws {
            let list = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
            try check(dnnl_primitive_execute(primitive, stream, Int32(list.count), list), "convolution")
        }
    }

    /// One tensor argument: the NCHW/OIHW memory Chorus holds and the layout the primitive
    /// chose, with reorders between them when they differ.
    private final class Operand {
        let chosen: UnsafeMutablePointer<dnnl_memory_desc_t>
        let user: dnnl_memory_t
        /// Memory in the chosen layout (its handle points into the workspace), nil when the
        /// chosen layout is the user's.
        let blocked: dnnl_memory_t?
        let bytes: Int
        private let toBlocked: dnnl_primitive_t?
        private let fromBlocked: dnnl_primitive_t?

        init(user userDesc: dnnl_memory_desc_t, chosen chosenDesc: dnnl_memory_desc_t, engine: dnnl_engine_t) throws {
            var u = userDesc, c = chosenDesc
            chosen = .allocate(capacity: 1); chosen.initialize(to: chosenDesc)
            var um: dnnl_memory_t?
            try check(dnnl_memory_create(&um, &u, engine, nil), "memory")
            user = um!
            if dnnl_memory_desc_equal(&u, &c) != 0 {
                blocked = nil; toBlocked = nil; fromBlocked = nil; bytes = 0
                return
            }
            var bm: dnnl_memory_t?
            try check(dnnl_memory_create(&bm, &c, engine, nil), "memory")
            blocked = bm
            bytes = dnnl_memory_desc_get_size(&c)
            toBlocked = try reorder(from: &u, to: &c, engine: engine)
            fromBlocked = try reorder(from: &c, to: &u, engine: engine)
        }

        deinit {
            dnnl_memory_destroy(user)
            if let blocked { dnnl_memory_destroy(blocked) }
            if let toBlocked { dnnl_primitive_destroy(toBlocked) }
            if let fromBlocked { dnnl_primitive_destroy(fromBlocked) }
            chosen.deallocate()
        }

        /// The memory to hand the primitive for an input: `data` itself, or its reordered copy in
        /// workspace slot `slot`.
        func into(_ data: UnsafeMutablePointer<Float>, slot: Int, _ workspace: Workspace, _ stream: dnnl_stream_t) throws -> dnnl_memory_t {
            try check(dnnl_memory_set_data_handle(user, data), "memory handle")
            guard let blocked, let toBlocked else { return user }
            try check(dnnl_memory_set_data_handle(blocked, workspace.slot(slot, bytes: bytes)), "memory handle")
            let args = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: user), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: blocked)]
            try check(dnnl_primitive_execute(toBlocked, stream, 2, args), "reorder")
            return blocked
        }

        /// The memory `into` prepared for `data` in slot `slot`, without reordering again.
        func current(_ data: UnsafeMutablePointer<Float>, slot: Int, _ workspace: Workspace) throws -> dnnl_memory_t {
            try outOf(data, slot: slot, workspace)
        }

        /// The memory the primitive writes an output into: `data` itself or workspace slot `slot`.
        func outOf(_ data: UnsafeMutablePointer<Float>, slot: Int, _ workspace: Workspace) throws -> dnnl_memory_t {
            try check(dnnl_memory_set_data_handle(user, data), "memory handle")
            guard let blocked else { return user }
            try check(dnnl_memory_set_data_handle(blocked, workspace.slot(slot, bytes: bytes)), "memory handle")
            return blocked
        }

        /// Reorders an output written by `outOf` back into `data`.
        func finish(_ data: UnsafeMutablePointer<Float>, _ workspace: Workspace, _ stream: dnnl_stream_t) throws {
            guard let blocked, let fromBlocked else { return }
            let args = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: blocked), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: user)]
            try check(dnnl_primitive_execute(fromBlocked, stream, 2, args), "reorder")
        }
    }

    /// Growable aligned buffers for the blocked copies, reused by every plan.
    final class Workspace {
        private var buffers: [(pointer: UnsafeMutableRawPointer, bytes: Int)?] = Array(repeating: nil, count: 5)

        func slot(_ i: Int, bytes: Int) -> UnsafeMutableRawPointer {
            if let b = buffers[i], b.bytes >= bytes { return b.pointer }
            buffers[i]?.pointer.deallocate()
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
            buffers[i] = (p, bytes)
            return p
        }

        deinit { for b in buffers { b?.pointer.deallocate() } }
    }
}

// MARK: - Helpers

private func check(_ status: dnnl_status_t, _ what: String) throws {
    guard status != dnnl_success else { return }
    throw TensorError.library(name: "oneDNN", op: what, status: String(cString: dnnl_status2str(status)))
}

/// A `dnnl_dims_t` (12 int64) as an array passed where the C API takes one.
private func dims(_ values: [Int]) -> [Int64] {
    values.map(Int64.init) + Array(repeating: 0, count: 12 - values.count)
}

private func memoryDescriptor(_ shape: [Int], _ tag: dnnl_format_tag_t) throws -> dnnl_memory_desc_t {
    var md = dnnl_memory_desc_t()
    try check(dnnl_memory_desc_init_by_tag(&md, Int32(shape.count), dims(shape), dnnl_f32, tag), "memory descriptor \(shape)")
    return md
}

private func reorder(from: UnsafeMutablePointer<dnnl_memory_desc_t>, to: UnsafeMutablePointer<dnnl_memory_desc_t>,
                     engine: dnnl_engine_t) throws -> dnnl_primitive_t {
    var pd: dnnl_primitive_desc_t?
    try check(dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, nil), "reorder descriptor")
    defer { dnnl_primitive_desc_destroy(pd) }
    var p: dnnl_primitive_t?
    try check(dnnl_primitive_create(&p, pd), "reorder")
    return p!
}
