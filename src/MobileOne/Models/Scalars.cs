using TorchSharp;

namespace MobileOne.Models;

/// <summary>
/// Scalars passed explicitly to TorchSharp operations in the training step. TorchSharp turns every
/// implicit number (including the alpha = 1 of <c>add</c>, <c>add_</c> and <c>+</c>) into a native scalar
/// that is never disposed; the finalizer thread frees them later, out of step with the training thread's
/// allocations, and the heap then fragments and grows from step to step (about 0.8 GB more after seven
/// S0 steps at batch 32; issue 12).
/// </summary>
internal static class Scalars
{
    /// <summary>1, for additions (alpha) and counters; shared, never disposed.</summary>
    public static readonly Scalar One = 1.ToScalar();
}
