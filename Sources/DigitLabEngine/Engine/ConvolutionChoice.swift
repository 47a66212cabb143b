import Foundation

/// Which kernels a network's convolutions run on, as a spec asks (`model.convolution`). A layer
/// whose shape the asked-for kernels do not fit runs as `auto` would without the environment
/// (`Conv2D.Method.chosen`): Winograd takes 3x3 stride-1 layers with channels and filters in
/// multiples of `tileColumns` (the paper's conv2 and conv3), not conv1's single channel.
public enum ConvolutionChoice: String, Sendable, CaseIterable {
    /// The engine's own choice: `DIGITLAB_CONVOLUTION` where the environment sets it to one of
    /// the others, else the direct kernels where `DirectConvolution.enabled`, else im2col.
    case auto
    /// The direct kernels (DirectConv.swift).
    case direct
    /// im2col and OpenBLAS products.
    case im2col
    /// Winograd's F(2x2, 3x3) forward and for the input gradient (Winograd.swift).
    case winograd

    /// What `auto` stands for in this process.
    public static let automatic = automatic(environment: ProcessInfo.processInfo.environment)

    /// The rule behind `automatic`: never `auto` itself.
    public static func automatic(environment: [String: String]) -> ConvolutionChoice {
        if let set = environment["DIGITLAB_CONVOLUTION"].flatMap(ConvolutionChoice.init(rawValue:)), set != .auto { return set }
        return DirectConvolution.enabled ? .direct : .im2col
    }
}
